"""Sign in with GitHub or an OpenID provider, and linked identities (docs/OAUTH.md)."""
