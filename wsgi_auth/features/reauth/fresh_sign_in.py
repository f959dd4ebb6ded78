"""Fresh sign-in ("sudo mode"): changes to what protects or recovers an account need a recent proof.

A stolen session cookie must not be enough to plant a lasting way in (a passkey, a linked
identity, a second factor of the attacker's, a new password or email) or to delete the
account. Each session keeps ``auth_time``: its login, or the last time its user proved who
they are again (``POST /api/reauth``, or the right ``current_password`` in the body of the
change itself). Such a change is allowed while ``now < auth_time + WSGI_AUTH_REAUTH_WINDOW``;
otherwise 403 with ``data.reauth_required``, and the page asks "Confirm it is you" and
retries (ASVS 5.0 re-authentication before changing authentication factors).

Routes that always need it say ``Access.FRESH`` in the route table (routing.py); a handler
whose need depends on the request (an OAuth start while signed in) calls
:func:`require_fresh_sign_in` itself.
"""

from ...http import SESSION, HTTPError, Request

REAUTH_REQUIRED = "Confirm it is you to continue"


def is_fresh(request: Request, services) -> bool:
    """True when the request's session proved its user within the re-authentication window."""
    session = request.session
    if request.user is None or session is None or session.session_auth_time is None:
        return False
    return services.clock() < session.session_auth_time + services.settings.reauth_window


def require_fresh_sign_in(request: Request, services) -> None:
    """Nothing when the session is fresh; else 403 ``reauth_required`` (401 when nobody is signed in)."""
    if request.user is None:
        raise HTTPError(401, "Sign in first")
    if not is_fresh(request, services):
        raise HTTPError(403, REAUTH_REQUIRED, data={"reauth_required": True})


def reauthenticated(request: Request, services) -> None:
    """The signed-in user just proved who they are (a password, a code, a passkey): the session's
    ``auth_time`` is now, for this request and the next ones."""
    now = services.clock()
    services.store.reauthenticated(request.claims["sid"], request.user["id"], now)
    if request.session is not None:
        request.environ[SESSION] = request.session._replace(session_auth_time=now)
