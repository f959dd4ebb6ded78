"""Sessions: one row per signed-in browser, so a sign-out ends it at once everywhere (docs/SESSIONS.md)."""
