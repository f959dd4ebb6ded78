"""Fresh sign-in ("sudo mode"): sensitive changes need a recent proof of who the user is."""
