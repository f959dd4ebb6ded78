"""Passkeys: the WebAuthn protocol through py_webauthn (``import webauthn``), and the few choices it leaves us.

The library builds the options a browser hands to ``navigator.credentials.create()``
and ``.get()``, parses what the browser sends back and verifies it: the client data's
type, challenge and origin, the RP ID hash, user presence and user verification, the attestation (we ask for
none), the signature and the signature counter. Here we decide who the relying party
is (:func:`relying_party`), which origins may answer, how long a challenge lives, and
that every failure of the library to verify junk is a refusal, never a 500.
"""

import dataclasses
import functools
import hashlib
import json
import secrets
from typing import Any, NamedTuple
from urllib.parse import urlsplit

RP_NAME = "wsgi_auth"  # what the browser's passkey dialog calls us
CHALLENGE_BYTES = 32  # 256 random bits per ceremony (ASVS 6.7.2 asks for 64)
CHALLENGE_TTL = 300  # seconds from options to answer (API.md: 5 minutes)
BROWSER_TIMEOUT_MS = 120_000  # how long the browser's dialog waits; well inside the challenge's life
DEFAULT_PORTS = {"http": 80, "https": 443}


class _Library(NamedTuple):
    webauthn: Any  # the module: generate_*_options, verify_*_response, options_to_json
    helpers: Any  # webauthn.helpers: base64url and the credential parsers
    structs: Any  # webauthn.helpers.structs: the option types


@functools.cache
def _lib() -> _Library:
    """py_webauthn, imported by the first passkey request: a worker that never sees one does not carry
    it (about 20 MiB with what it imports)."""
    import webauthn
    from webauthn import helpers
    from webauthn.helpers import structs

    return _Library(webauthn, helpers, structs)


class Refused(Exception):
    """The library could not parse or verify what the browser sent; ``reason`` is for the server log only."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NoSite(Exception):
    """The request names no site a passkey could be for (a 400): no ``WSGI_AUTH_PUBLIC_URL`` and no usable ``Host``."""

    def __init__(self, message: str = "The request's Host header names no site for passkeys"):
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class RelyingParty:
    id: str  # the RP ID: a host name, no scheme, no port
    origins: tuple[str, ...]  # origins whose client data we accept


def _origin(scheme: str, host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS.get(scheme)) else f"{scheme}://{host}:{port}"


def _split(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an origin or URL, lower case; None when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port


def relying_party(settings, environ) -> RelyingParty:
    """Who we are to the browser: the host of ``WSGI_AUTH_PUBLIC_URL``, else the request's own ``Host``.

    The accepted origins are that URL's (or the request's own) origin, plus each configured CORS
    origin whose host is the RP ID or one of its subdomains: those pages may already call the API
    with the user's cookie, and a browser lets them use this RP ID (the lesson's frontend on
    ``http://localhost:4100`` beside the API on ``localhost:8587``). 400 when the request names no host.
    """
    if settings.public_url:
        found = _split(settings.public_url)
    else:
        found = _split(f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}")
    if found is None:
        raise NoSite()
    scheme, host, port = found
    origins = [_origin(scheme, host, port)]
    for allowed in settings.allowed_origins:
        other = _split(allowed)
        if other is not None and (other[1] == host or other[1].endswith("." + host)):
            origin = _origin(*other)
            if origin not in origins:
                origins.append(origin)
    return RelyingParty(host, tuple(origins))


def new_challenge() -> tuple[bytes, str]:
    """A fresh challenge (CSPRNG) and what the database keeps of it: its SHA-256."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    return challenge, challenge_hash(challenge)


def challenge_hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def new_user_handle() -> str:
    """A WebAuthn user handle: 32 random bytes, base64url. Never the uid, which the authenticator would keep."""
    return _lib().helpers.bytes_to_base64url(secrets.token_bytes(32))


def registration_options(rp: RelyingParty, user: dict, handle: str, credential_ids: list[str],
                         challenge: bytes) -> dict:  # fmt: skip
    """``PublicKeyCredentialCreationOptions`` as JSON: a discoverable credential (resident key required),
    user verification required, no attestation, the account's passkeys excluded."""
    webauthn, helpers, structs = _lib()
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_id=helpers.base64url_to_bytes(handle),
        user_name=user["uid"],
        user_display_name=user["name"],
        challenge=challenge,
        timeout=BROWSER_TIMEOUT_MS,
        authenticator_selection=structs.AuthenticatorSelectionCriteria(
            resident_key=structs.ResidentKeyRequirement.REQUIRED,
            user_verification=structs.UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[structs.PublicKeyCredentialDescriptor(id=helpers.base64url_to_bytes(i))
                             for i in credential_ids],  # fmt: skip
    )
    return json.loads(webauthn.options_to_json(options))


def authentication_options(rp: RelyingParty, challenge: bytes, credential_ids: list[str] = ()) -> dict:
    """``PublicKeyCredentialRequestOptions`` as JSON, user verification required. To sign in: no
    allowCredentials, so the authenticator offers the passkeys it holds for this RP ID (discoverable
    credentials: no uid asked first); to re-authenticate: the signed-in account's ``credential_ids``."""
    webauthn, helpers, structs = _lib()
    options = webauthn.generate_authentication_options(
        rp_id=rp.id, challenge=challenge, timeout=BROWSER_TIMEOUT_MS,
        allow_credentials=[structs.PublicKeyCredentialDescriptor(id=helpers.base64url_to_bytes(i))
                           for i in credential_ids],
        user_verification=structs.UserVerificationRequirement.REQUIRED,
    )  # fmt: skip
    return json.loads(webauthn.options_to_json(options))


# What the browser sent is parsed and verified by the library, which reads attacker-chosen bytes (JSON,
# base64url, CBOR, COSE keys, DER signatures) and does not promise which exception junk raises: any
# failure there is a refusal (400 or 401 by the caller), with the library's reason in the server log.


def _same_id(parsed) -> None:
    # The library checks this too, but only after the challenge is spent; a wrong shape should not spend it.
    if _lib().helpers.bytes_to_base64url(parsed.raw_id) != parsed.id:
        raise ValueError("id is not the base64url of rawId")


def parse_registration(credential: dict):
    """The library's ``RegistrationCredential`` and the challenge its client data answers."""
    helpers = _lib().helpers
    try:
        parsed = helpers.parse_registration_credential_json(credential)
        _same_id(parsed)
        return parsed, helpers.parse_client_data_json(parsed.response.client_data_json).challenge
    except Exception as error:  # noqa: BLE001 - see above
        raise Refused(f"{type(error).__name__}: {error}") from None


def parse_authentication(credential: dict):
    """The library's ``AuthenticationCredential``, the challenge its client data answers, its credential
    id (base64url) and its user handle (base64url, or None when the authenticator sent none)."""
    helpers = _lib().helpers
    try:
        parsed = helpers.parse_authentication_credential_json(credential)
        _same_id(parsed)
        challenge = helpers.parse_client_data_json(parsed.response.client_data_json).challenge
        handle = parsed.response.user_handle
        encode = helpers.bytes_to_base64url
        return parsed, challenge, encode(parsed.raw_id), encode(handle) if handle else None
    except Exception as error:  # noqa: BLE001 - see above
        raise Refused(f"{type(error).__name__}: {error}") from None


def verify_registration(parsed, challenge: bytes, rp: RelyingParty):
    """``(credential id as base64url, COSE public key, signature counter)`` of a verified attestation."""
    webauthn, helpers, _ = _lib()
    try:
        verified = webauthn.verify_registration_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp.id, expected_origin=list(rp.origins),
            require_user_presence=True, require_user_verification=True,  # UV: possession alone is not enough
        )  # fmt: skip
    except Exception as error:  # noqa: BLE001 - see above
        raise Refused(f"{type(error).__name__}: {error}") from None
    return helpers.bytes_to_base64url(verified.credential_id), verified.credential_public_key, verified.sign_count


def verify_authentication(parsed, challenge: bytes, rp: RelyingParty, public_key: bytes, sign_count: int) -> int:
    """The new signature counter of a verified assertion. The library refuses a counter that did not go
    up when either side keeps one (a cloned authenticator, or a replay)."""
    webauthn = _lib().webauthn
    try:
        verified = webauthn.verify_authentication_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp.id, expected_origin=list(rp.origins),
            credential_public_key=public_key, credential_current_sign_count=sign_count,
            require_user_verification=True,  # the PIN or biometric was checked: not possession alone
        )  # fmt: skip
    except Exception as error:  # noqa: BLE001 - see above
        raise Refused(f"{type(error).__name__}: {error}") from None
    return verified.new_sign_count
