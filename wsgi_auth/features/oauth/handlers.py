"""Sign in with GitHub or OpenID Connect: ``/api/oauth/...`` and ``/api/user/identities...``.

The protocol is ``providers.py`` (Authlib); here is the policy: which browser may finish a
sign-in (the one that started it: a random value in a short-lived httpOnly cookie, whose
hash the pending sign-in keeps), where it may go afterwards (a path on this origin), and
which account an identity signs in to (only the one it is linked to, by provider and
subject; never one that merely shares an email or a uid).

A failed callback is a browser looking at a page, so it gets a page: status 400, the
failure page from ``public/`` with one of our own sentences, and a link back to login.
"""

import hashlib
import html
import logging
import os
import re
import secrets
from urllib.parse import urlsplit

from ...http import PAGE_HEADERS, HTTPError, Request, Response, cookie_value, own_origin
from ...throttle import Throttled
from ..account import notices
from ..events import events
from ..reauth.fresh_sign_in import require_fresh_sign_in
from . import providers as oauth

log = logging.getLogger("wsgi_auth.oauth")

BROWSER_COOKIE = "wsgi_auth_oauth"  # binds a pending sign-in to the browser that started it
PENDING_TTL = 600  # seconds from start to callback; the provider's login page must fit in them
DEFAULT_NEXT = "/dashboard.html"
ONLY_WAY_LEFT = "This is the only way left to sign in to this account; set a password or link another account first"
_REASON = re.compile(r"<!--reason-->.*?<!--/reason-->", re.S)


def _digest(value: str) -> str:
    """What the database keeps of a state or browser value: its SHA-256 (they are 256-bit random)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def safe_next(value: str | None) -> str:
    """``next`` if it is a path on this origin (``/dashboard.html?x``), else the dashboard.

    ``//evil.example``, ``/\\evil.example``, ``https://evil.example`` and anything with a
    control character go to the dashboard: browsers read all of them as another host.
    """
    if not value or len(value) > 512 or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in value or any(ord(c) < 33 or ord(c) == 127 for c in value):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return value


def _base_url(request: Request, services) -> str:
    return (getattr(services.settings, "public_url", None) or own_origin(request.environ)).rstrip("/")


def _browser_cookie(services, value: str, max_age: int) -> tuple[str, str]:
    # SameSite=Lax: the provider's redirect back is a top-level GET from another site, which Lax lets through.
    secure = "; Secure" if services.settings.cookie_secure else ""
    return ("Set-Cookie", f"{BROWSER_COOKIE}={value}; Max-Age={max_age}; Path=/api/oauth/; HttpOnly{secure}; SameSite=Lax")


def _provider(request: Request, services):
    provider = services.oauth.get(request.params["provider"])
    if provider is None:
        raise HTTPError(404, "No such sign-in provider is configured")
    return provider


def failure_page(services, reason: str) -> Response:
    """The failure page (status 400) saying what happened, with a link back to login."""
    sentence = oauth.REASONS.get(reason, oauth.REASONS[oauth.PROVIDER])
    try:
        with open(os.path.join(services.settings.public_dir, "oauth-error.html"), encoding="utf-8") as f:
            page = f.read()
    except OSError:
        page = ('<!doctype html><title>Sign-in did not complete</title>'
                '<p><!--reason--><!--/reason--></p><a href="/index.html">Back to login</a>')
    body = _REASON.sub(lambda _: html.escape(sentence), page, count=1).encode("utf-8")
    headers = [(name, value) for name, value in PAGE_HEADERS if name != "Cache-Control"]
    return Response(body, 400, [("Content-Type", "text/html; charset=utf-8"), *headers, ("Cache-Control", "no-store"),
                                _browser_cookie(services, "", 0)])  # fmt: skip


# -- the flow --------------------------------------------------------------------------------


def providers(request: Request, services) -> Response:
    data = [{"id": provider.id, "name": provider.name} for provider in services.oauth.values()]
    return Response.json({"message": f"{len(data)} sign-in provider(s) configured", "data": data})


def start(request: Request, services) -> Response:
    """302 to the provider, with ``state``, PKCE and (OIDC) ``nonce``; the browser gets its binding cookie.
    Signed in, this links an identity to the account: a way in, so it needs a fresh sign-in."""
    provider = _provider(request, services)
    if request.user is not None:
        require_fresh_sign_in(request, services)  # a stolen cookie must not link the thief's identity
    services.throttle.attempt_oauth_start(request.remote_addr)  # each start writes a row: 30 an address per 10 min
    redirect_uri = f"{_base_url(request, services)}/api/oauth/{provider.id}/callback"
    try:
        url, pending = provider.start(redirect_uri)
    except oauth.ProviderError as error:
        log.warning("oauth %s start failed: %s", provider.id, error)
        return failure_page(services, error.reason)
    browser = secrets.token_urlsafe(32)
    now = services.clock()
    services.store.save_oauth_state(
        _digest(pending.state), _digest(browser), provider.id, pending.code_verifier, pending.nonce, redirect_uri,
        safe_next(request.query.get("next")), request.user["id"] if request.user else None, now, now + PENDING_TTL,
    )  # fmt: skip
    return Response(b"", 302, [("Location", url), ("Cache-Control", "no-store"), _browser_cookie(services, browser, PENDING_TTL)])


def callback(request: Request, services) -> Response:
    """The provider sends the browser back here: check the state, exchange the code, sign in or link."""
    provider = _provider(request, services)
    query = request.query
    state, browser = query.get("state") or "", cookie_value(request.environ, BROWSER_COOKIE) or ""
    # Single use, and only by the browser that started it: another browser's replay finds nothing
    # (and does not use up the real one).
    pending = services.store.take_oauth_state(_digest(state), _digest(browser), services.clock()) if state and browser else None
    if pending is None or pending["provider"] != provider.id:
        log.info("oauth %s callback refused: unknown, used, expired or another browser's state", provider.id)
        return failure_page(services, oauth.STATE)
    linking_user = pending["user_id"]
    if linking_user is not None and (request.user is None or request.user["id"] != linking_user):
        log.info("oauth %s callback refused: the account that started linking is no longer signed in", provider.id)
        return failure_page(services, oauth.STATE)
    try:
        identity = provider.finish(
            oauth.Pending(state, pending["code_verifier"], pending["nonce"], pending["redirect_uri"]), query
        )
    except oauth.ProviderError as error:
        log.warning("oauth %s callback failed: %s", provider.id, error)
        return failure_page(services, error.reason)

    headers = [("Location", pending["next_path"]), ("Cache-Control", "no-store"), _browser_cookie(services, "", 0)]
    response = Response(b"", 302, headers)
    key = (identity.provider, identity.issuer, identity.subject)  # what links an identity: nothing else
    linked = services.store.identity_owner(*key)
    if linking_user is not None:
        linking = events.of(request, "identity_linked", f"{identity.provider}: {identity.login}")
        added = linked is None and services.store.add_identity(linking_user, *key, identity.login, services.clock(), linking)
        if linked is None and not added:
            linked = services.store.identity_owner(*key)  # linked by someone else a moment ago
        if linked is not None and linked.user["id"] != linking_user:
            return failure_page(services, oauth.ACCOUNT)
        request.log_uid = request.user["uid"]
        if added:
            notices.send(services, request.user, "identity_linked")
        return response  # already signed in: the session goes on
    if linked is None:
        # A new account: uid from the provider's login (suffix if taken), no password, never an existing account.
        # It is a signup like any other, and counts against the same limit per address.
        try:
            services.throttle.attempt_signup(request.remote_addr)
        except Throttled:
            return failure_page(services, oauth.TOO_MANY)
        linked = services.store.create_user_with_identity(
            oauth.uid_candidates(identity.login), identity.name or identity.login, identity.email,
            *key, identity.login, services.clock(),
        ) or services.store.identity_owner(*key)  # fmt: skip
        if linked is None:
            return failure_page(services, oauth.ACCOUNT)
    request.log_uid = linked.user["uid"]
    response.headers.append(services.sessions.start(linked.user, linked.token_version,
                                                    events.sign_in(request, provider.name)))
    return response


# -- linked identities -------------------------------------------------------------------------


def identities(request: Request, services) -> Response:
    data = services.store.identities(request.user["id"])
    return Response.json({"message": f"{len(data)} linked sign-in(s)", "data": data})


def unlink(request: Request, services) -> Response:
    raw = request.params["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise HTTPError(404, "No such linked sign-in")
    outcome = services.store.delete_identity(request.user["id"], int(raw), events.of(request, "identity_unlinked"),
                                        services.clock())  # fmt: skip
    if outcome == "missing":
        raise HTTPError(404, "No such linked sign-in")
    if outcome == "last":
        raise HTTPError(409, ONLY_WAY_LEFT)
    return Response.no_content()
