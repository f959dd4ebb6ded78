"""Fresh sign-in for sensitive changes: built in issue 22; this placeholder lets the features call it."""


def require_fresh_sign_in(request, app) -> None:
    """403 reauth_required unless the session signed in recently (issue 22 fills this in)."""
