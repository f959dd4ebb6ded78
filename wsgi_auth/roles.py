"""The role names, defined once, for the route table, validation and the store's users."""

USER_ROLE = "User"
ADMIN_ROLE = "Admin"
ROLES = (USER_ROLE, ADMIN_ROLE)
