"""Security events of an account (sign-ins, changes), written in the same transaction as the change."""
