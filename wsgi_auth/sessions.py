"""Signing a browser in and out: the one place that sets and clears the session cookie.

Every way of signing in (a password today) ends in :func:`start`; logging out ends
in :func:`end`. Both write the cookie with the same name, ``Path``, ``Secure`` and
``SameSite``, so the browser replaces or drops exactly the cookie it holds.
"""

from . import tokens
from .http import Request, Response


def _set_cookie(app, response: Response, value: str, max_age: int) -> None:
    s = app.settings
    response.set_cookie(s.cookie_name, value, max_age=max_age, secure=s.cookie_secure, samesite=s.cookie_samesite)


def start(request: Request, app, response: Response, user: dict, token_version: int) -> None:
    """Steps 7-9: sign a JWT for ``user`` and set it on ``response`` as the httpOnly session cookie."""
    token, _ = tokens.issue(user, token_version, app.settings.secret_key, app.settings.token_ttl, app.clock())
    _set_cookie(app, response, token, app.settings.token_ttl)


def end(app, response: Response) -> None:
    """Clear the session cookie: same name and attributes, empty value, ``Max-Age=0``."""
    _set_cookie(app, response, "", 0)
