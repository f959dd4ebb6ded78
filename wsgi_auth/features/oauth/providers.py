"""Sign in with GitHub or any OpenID Connect provider: the protocol, through Authlib.

Authlib builds the authorization URL (``state``, PKCE ``S256``, ``nonce``) and exchanges
the code; Authlib's OpenID Connect claims class (with joserfc, Authlib's JOSE library)
checks the ID token: its signature against the provider's JWKS, ``iss``, ``aud``, ``exp``,
``iat``, ``azp``, ``at_hash`` and ``nonce``. Nothing here decides who is signed in: a
provider only answers "this browser is subject S at provider P" (an :class:`Identity`);
the handler decides which account that is.

Every call to a provider has a short timeout, and everything that can go wrong with one
(it refuses, it is down or slow, it answers nonsense, its ID token does not check out)
is a :class:`ProviderError` with a reason code the failure page explains, never an
exception the service answers with a 500.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import secrets
import threading
import time
import types
from typing import Callable

log = logging.getLogger("wsgi_auth.oauth")

# (connect, read) seconds for every call to a provider: a provider that is down costs the
# browser a few seconds and a clear page, never a hung worker.
TIMEOUT = (3.05, 5.0)
METADATA_TTL = 3600  # discovery document and JWKS are kept this long...
JWKS_REFRESH_MIN = 60  # ...and an unknown key id fetches the JWKS again at most this often
CLOCK_LEEWAY = 60  # seconds of clock difference allowed on exp, iat, nbf
# ID tokens signed with a public key only: a symmetric algorithm would verify with the client
# secret, which is not how this service registers, and "none" is never acceptable.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

# Why a sign-in failed; the failure page has a sentence for each (REASONS).
DENIED, STATE, PROVIDER, UNREACHABLE, ID_TOKEN = "denied", "state", "provider", "unreachable", "id_token"
ACCOUNT, TOO_MANY = "account", "too_many"
REASONS = {
    DENIED: "You did not allow the sign-in at the provider, so nothing was changed.",
    STATE: "This sign-in was not started in this browser, was already used, or took too long. Please start again.",
    PROVIDER: "The provider refused the sign-in or answered something we could not use. Please try again.",
    UNREACHABLE: "The provider could not be reached just now. Please try again in a moment.",
    ID_TOKEN: "The provider's answer did not pass our checks, so we did not sign you in.",
    ACCOUNT: "That identity is already linked to another account here.",
    TOO_MANY: "Too many new accounts were made from your network in the last hour. Please try again later.",
}


@functools.cache
def _lib() -> types.SimpleNamespace:
    """requests, Authlib and joserfc, imported once a provider is configured (``configured``) or used:
    about 9 MiB a process that a service without "Sign in with" never loads."""
    import requests
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2 import OAuth2Error
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.errors import InvalidKeyIdError, JoseError
    from joserfc.jwk import KeySet
    from joserfc.jws import JWSRegistry

    return types.SimpleNamespace(
        requests=requests, OAuthError=OAuthError, OAuth2Session=OAuth2Session, OAuth2Error=OAuth2Error,
        CodeIDToken=CodeIDToken, jwt=jwt, InvalidKeyIdError=InvalidKeyIdError, JoseError=JoseError, KeySet=KeySet,
        JWSRegistry=JWSRegistry,
    )  # fmt: skip


class ProviderError(Exception):
    """A sign-in that cannot go on; ``reason`` is one of the codes in ``REASONS``.

    ``detail`` is for the server log only: it may hold what a provider said.
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who the provider says the browser's user is.

    ``subject`` is the provider's stable id (GitHub's numeric user id, OIDC ``sub``), unique
    within its ``issuer`` (the GitHub server, the OIDC issuer): the pair is the only thing an
    identity is linked by. ``login`` only suggests a uid for a new account,
    and ``email`` (only one the provider verified) only fills in a new account's email:
    neither ever links to an existing account.
    """

    provider: str
    issuer: str
    subject: str
    login: str
    name: str | None = None
    email: str | None = None


@dataclasses.dataclass(frozen=True)
class Pending:
    """What ``start`` must remember, server-side, until the provider sends the browser back."""

    state: str
    code_verifier: str
    nonce: str | None
    redirect_uri: str


def _session(provider, redirect_uri: str, **kwargs):
    return _lib().OAuth2Session(
        provider.client_id, provider.client_secret, scope=provider.scope, redirect_uri=redirect_uri,
        code_challenge_method="S256", default_timeout=TIMEOUT, **kwargs,
    )  # fmt: skip


def _get_json(url: str, what: str, headers: dict | None = None):
    """GET a provider's JSON document; any failure is a ProviderError."""
    requests = _lib().requests
    try:
        response = requests.get(url, timeout=TIMEOUT, headers={"Accept": "application/json", **(headers or {})})
        response.raise_for_status()
        return response.json()
    except (requests.ConnectionError, requests.Timeout) as error:
        raise ProviderError(UNREACHABLE, f"{what}: {type(error).__name__}") from None
    except (requests.RequestException, ValueError) as error:
        raise ProviderError(PROVIDER, f"{what}: {error}") from None


def _exchange(provider, pending: Pending, query: dict, token_endpoint: str) -> dict:
    """The callback's ``code`` for tokens (with the PKCE ``code_verifier``); ``error`` answers first."""
    error = query.get("error")
    if error:
        raise ProviderError(DENIED if error == "access_denied" else PROVIDER, f"authorization error {error!r}")
    code = query.get("code")
    if not code:
        raise ProviderError(PROVIDER, "callback without a code")
    session = _session(provider, pending.redirect_uri, token_endpoint_auth_method=provider.token_auth_method)
    lib = _lib()
    requests = lib.requests
    try:
        with session:
            token = session.fetch_token(token_endpoint, code=code, code_verifier=pending.code_verifier)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise ProviderError(UNREACHABLE, f"token endpoint: {type(error).__name__}") from None
    except (lib.OAuthError, lib.OAuth2Error, requests.RequestException, ValueError) as error:
        raise ProviderError(PROVIDER, f"token endpoint: {error}") from None
    if not isinstance(token.get("access_token"), str):
        raise ProviderError(PROVIDER, "token response without an access_token")
    return token


class _Provider:
    id = name = ""
    scope = ""
    uses_nonce = False  # OpenID Connect binds its ID token to this sign-in with a nonce

    def __init__(self, client_id: str, client_secret: str):
        self.client_id = client_id
        self.client_secret = client_secret
        # RFC 6749 2.3.1: HTTP Basic is what every provider must accept; a public client sends none.
        self.token_auth_method = "client_secret_basic" if client_secret else "none"

    def authorization_endpoint(self) -> str:
        raise NotImplementedError

    def start(self, redirect_uri: str) -> tuple[str, Pending]:
        """The provider's authorization URL, and what the callback will need to check."""
        pending = Pending(
            state=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),  # 64 characters, inside PKCE's 43-128
            nonce=secrets.token_urlsafe(32) if self.uses_nonce else None,
            redirect_uri=redirect_uri,
        )
        extra = {"nonce": pending.nonce} if pending.nonce else {}
        with _session(self, redirect_uri) as session:
            url, _ = session.create_authorization_url(
                self.authorization_endpoint(), state=pending.state, code_verifier=pending.code_verifier, **extra
            )
        return url, pending

    def finish(self, pending: Pending, query: dict) -> Identity:
        """The callback's query (``code`` or ``error``) to the identity it proves."""
        raise NotImplementedError


class GitHub(_Provider):
    """GitHub's OAuth app flow (``/login/oauth/authorize``, ``/login/oauth/access_token``, API ``/user``).

    GitHub Enterprise Server: ``url`` is the server, ``api_url`` its ``/api/v3``.
    """

    id, name = "github", "GitHub"
    scope = "read:user user:email"

    def __init__(self, client_id, client_secret, url="https://github.com", api_url="https://api.github.com"):
        super().__init__(client_id, client_secret)
        self.token_auth_method = "client_secret_post"  # as GitHub's documentation shows it
        self.url = url.rstrip("/")
        self.api_url = api_url.rstrip("/")

    def authorization_endpoint(self) -> str:
        return f"{self.url}/login/oauth/authorize"

    def finish(self, pending: Pending, query: dict) -> Identity:
        token = _exchange(self, pending, query, f"{self.url}/login/oauth/access_token")
        auth = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/vnd.github+json"}
        user = _get_json(f"{self.api_url}/user", "GitHub /user", headers=auth)
        if not isinstance(user, dict) or type(user.get("id")) is not int or not isinstance(user.get("login"), str):
            raise ProviderError(PROVIDER, "GitHub /user without an id and a login")
        name, email = _text(user.get("name")), self._verified_email(auth)
        return Identity(self.id, self.url, str(user["id"]), user["login"], name, email)

    def _verified_email(self, auth: dict) -> str | None:
        """The primary, verified address from ``/user/emails``; none if GitHub will not say."""
        try:
            emails = _get_json(f"{self.api_url}/user/emails", "GitHub /user/emails", headers=auth)
        except ProviderError:
            return None
        for entry in emails if isinstance(emails, list) else []:
            if isinstance(entry, dict) and entry.get("primary") is True and entry.get("verified") is True:
                return _text(entry.get("email"))
        return None


class OpenIDConnect(_Provider):
    """Any OpenID Connect provider, found by discovery from its issuer URL.

    The discovery document and the JWKS are cached for ``METADATA_TTL`` seconds (and
    the JWKS fetched again when an ID token names a key it does not hold: the provider
    rotated its keys). The cache is only of the provider's public documents.
    """

    id = "oidc"
    scope = "openid profile email"
    uses_nonce = True

    def __init__(self, issuer, client_id, client_secret, name="OpenID Connect", clock: Callable[[], float] = time.time):
        super().__init__(client_id, client_secret)
        self.issuer = issuer.rstrip("/")
        self.name = name
        self.clock = clock
        self._lock = threading.Lock()
        self._metadata: tuple[float, dict] | None = None
        self._jwks: tuple[float, object] | None = None  # (when, joserfc KeySet)

    def metadata(self) -> dict:
        with self._lock:
            if self._metadata and time.monotonic() - self._metadata[0] < METADATA_TTL:
                return self._metadata[1]
        document = _get_json(f"{self.issuer}/.well-known/openid-configuration", "discovery")
        if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != self.issuer:
            # OpenID Connect Discovery 4.3: the document must name the issuer it was fetched for.
            raise ProviderError(PROVIDER, "discovery document for another issuer")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(key), str):
                raise ProviderError(PROVIDER, f"discovery document without {key}")
        with self._lock:
            self._metadata = (time.monotonic(), document)
        return document

    def key_set(self, refresh: bool = False):
        with self._lock:
            cached = self._jwks
            if cached and time.monotonic() - cached[0] < (JWKS_REFRESH_MIN if refresh else METADATA_TTL):
                return cached[1]
        document = _get_json(self.metadata()["jwks_uri"], "JWKS")
        lib = _lib()
        try:
            keys = lib.KeySet.import_key_set(document)
        except (lib.JoseError, ValueError, TypeError, KeyError) as error:
            raise ProviderError(PROVIDER, f"JWKS: {error}") from None
        with self._lock:
            self._jwks = (time.monotonic(), keys)
        return keys

    def authorization_endpoint(self) -> str:
        return self.metadata()["authorization_endpoint"]

    def finish(self, pending: Pending, query: dict) -> Identity:
        metadata = self.metadata()
        # RFC 9207: a provider that says which issuer answered must name ours (no mix-up).
        if "iss" in query and query["iss"] != metadata["issuer"]:
            raise ProviderError(PROVIDER, "authorization response from another issuer")
        token = _exchange(self, pending, query, metadata["token_endpoint"])
        claims = self.check_id_token(token, pending.nonce)
        if not (claims.get("preferred_username") or claims.get("email")) and metadata.get("userinfo_endpoint"):
            claims = {**self._userinfo(metadata["userinfo_endpoint"], token["access_token"], claims["sub"]), **claims}
        login = _text(claims.get("preferred_username")) or (_text(claims.get("email")) or "").partition("@")[0]
        email = _text(claims.get("email")) if claims.get("email_verified") is True else None
        return Identity(self.id, metadata["issuer"], claims["sub"], login or "user", _text(claims.get("name")), email)

    def check_id_token(self, token: dict, nonce: str) -> dict:
        """The ID token's claims, once its signature, ``iss``, ``aud``, ``exp`` and ``nonce`` check out."""
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderError(ID_TOKEN, "token response without an id_token")
        offered = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        lib = _lib()
        registry = lib.JWSRegistry(algorithms=[a for a in ASYMMETRIC_ALGORITHMS if a in offered] or ["RS256"])
        try:
            try:
                decoded = lib.jwt.decode(id_token, self.key_set(), registry=registry)
            except lib.InvalidKeyIdError:  # a key we have not seen: the provider may have rotated
                decoded = lib.jwt.decode(id_token, self.key_set(refresh=True), registry=registry)
            issuer = self.metadata()["issuer"]  # exactly as the provider spells it (a trailing slash, say)
            options = {"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": self.client_id}}
            params = {"nonce": nonce, "client_id": self.client_id, "access_token": token.get("access_token")}
            claims = lib.CodeIDToken(decoded.claims, decoded.header, options, params)
            claims.validate(now=int(self.clock()), leeway=CLOCK_LEEWAY)
        except (lib.JoseError, ValueError, TypeError, KeyError) as error:
            raise ProviderError(ID_TOKEN, f"{type(error).__name__}: {error}") from None
        if not nonce or claims.get("nonce") != nonce:  # never skipped, whatever the token says
            raise ProviderError(ID_TOKEN, "nonce missing or wrong")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise ProviderError(ID_TOKEN, "no sub")
        return dict(claims)

    def _userinfo(self, url: str, access_token: str, subject: str) -> dict:
        info = _get_json(url, "userinfo", headers={"Authorization": f"Bearer {access_token}"})
        # OpenID Connect Core 5.3.2: userinfo about anyone but the ID token's subject is refused.
        if not isinstance(info, dict) or info.get("sub") != subject:
            raise ProviderError(PROVIDER, "userinfo for another subject")
        return info


def _text(value) -> str | None:
    """A provider's string, if it is one we can show: no control characters, at most 100 characters."""
    if not isinstance(value, str) or not value.strip() or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value.strip()[:100]


def uid_candidates(login: str, limit: int = 100):
    """Valid uids made from a provider's login: ``Octo_Cat.dev`` -> ``Octo-Cat-dev``, then
    ``Octo-Cat-dev1``, ``Octo-Cat-dev2``... (cut so that each stays within 39 characters)."""
    base = re.sub(r"[^A-Za-z0-9]+", "-", login if login.isascii() else login.encode("ascii", "ignore").decode())
    base = base.strip("-")[:39].rstrip("-") or "user"
    yield base
    for number in range(1, limit):
        suffix = str(number)
        yield base[: 39 - len(suffix)].rstrip("-") + suffix


def configured(settings) -> dict[str, _Provider]:
    """The providers ``settings.oauth`` configures, by id (``github``, ``oidc``), in button order."""
    o = settings.oauth
    providers = {}
    if o.github_client_id and o.github_client_secret:
        providers["github"] = GitHub(o.github_client_id, o.github_client_secret, o.github_url, o.github_api_url)
    if o.oidc_issuer and o.oidc_client_id:
        providers["oidc"] = OpenIDConnect(o.oidc_issuer, o.oidc_client_id, o.oidc_client_secret or "", o.oidc_name,
                                          settings.clock)  # fmt: skip
    if providers:
        _lib()  # imported now, at start, not by the first sign-in
    return providers
