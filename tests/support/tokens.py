"""Tokens made by hand, as an attacker (or a key thief) would, and read without checking."""

import base64
import hashlib
import hmac
import json

from .constants import SECRET_KEY


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def unverified_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def hs256(header: dict, claims: dict, key: str | bytes = SECRET_KEY) -> str:
    """A token with any header and claims, HMAC-SHA256-signed with ``key`` (right or wrong)."""
    key = key.encode() if isinstance(key, str) else key
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def forge(claims: dict, key: str | bytes = SECRET_KEY) -> str:
    """A correctly signed HS256 token with the claims we choose, header exactly as the app issues it."""
    return hs256({"alg": "HS256", "typ": "JWT"}, claims, key)
