"""Passkeys: WebAuthn registration and sign-in, user verification required (docs/SECOND_FACTORS.md)."""
