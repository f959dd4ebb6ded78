"""Who may call a route, and the role names: defined once, for the router, validation and the store's users."""

from enum import Enum

USER_ROLE = "User"
ADMIN_ROLE = "Admin"
ROLES = (USER_ROLE, ADMIN_ROLE)


class Access(Enum):
    """The access a route needs (the lesson's ``token_required(roles)``)."""

    ANYONE = "anyone"
    SIGNED_IN = "signed in"
    FRESH = "signed in, fresh sign-in"  # and proved who they are lately: fresh_sign_in.py (the router checks it)
    ADMIN = "Admin"

    def refusal(self, user: dict | None) -> int | None:
        """401 when a signed-in user is needed and there is none, 403 for a non-Admin on an Admin route.
        Whether a FRESH route's sign-in is fresh is the router's question (it needs the session)."""
        if self == Access.ANYONE:
            return None
        if user is None:
            return 401
        if self == Access.ADMIN and user["role"] != ADMIN_ROLE:
            return 403
        return None
