"""Who may call a route, and the role names: defined once, for the router, validation and the store's users."""

from enum import Enum

USER_ROLE = "User"
ADMIN_ROLE = "Admin"
ROLES = (USER_ROLE, ADMIN_ROLE)


class Access(Enum):
    """The access a route needs (the lesson's ``token_required(roles)``)."""

    ANYONE = "anyone"
    SIGNED_IN = "signed in"
    ADMIN = "Admin"

    def refusal(self, user: dict | None) -> int | None:
        """401 when a signed-in user is needed and there is none, 403 for a non-Admin on an Admin route."""
        if self == Access.ANYONE:
            return None
        if user is None:
            return 401
        if self == Access.ADMIN and user["role"] != ADMIN_ROLE:
            return 403
        return None
