"""The signature is checked by PyJWT; around it the token must be spelled exactly as we issue it."""

import jwt
import pytest

from wsgi_auth import tokens

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
USER = {"uid": "alice", "id": 7}
NOW = 1_800_000_000


def token(key=KEY):
    return tokens.issue(USER, 0, key, 3600, NOW)[0]


def test_a_token_we_issue_reads_back_with_every_claim():
    claims = tokens.read_signed_claims(token(), (KEY,))
    assert (claims["_uid"], claims["sub"], claims["ver"], claims["exp"]) == ("alice", "7", 0, NOW + 3600)


def test_the_previous_key_still_verifies_and_an_unknown_one_does_not():
    assert tokens.read_signed_claims(token(OTHER_KEY), (KEY, OTHER_KEY))["sub"] == "7"
    with pytest.raises(tokens.InvalidToken):
        tokens.read_signed_claims(token(OTHER_KEY), (KEY,))


def test_the_same_signature_bytes_spelled_another_way_are_refused():
    header, payload, signature = token().split(".")
    # The last of 43 characters carries two spare bits: flipping them keeps the bytes, not the text.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelled = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    forged = f"{header}.{payload}.{respelled}"
    with pytest.raises(tokens.InvalidToken):
        tokens.read_signed_claims(forged, (KEY,))


@pytest.mark.parametrize("change", [lambda s: s + "=", lambda s: s[:20] + "!" + s[20:], lambda s: s[:-1],
                                    lambda s: s + ".x"])  # fmt: skip
def test_a_signature_with_padding_noise_or_a_missing_character_is_refused(change):
    header, payload, signature = token().split(".")
    with pytest.raises(tokens.InvalidToken):
        tokens.read_signed_claims(f"{header}.{payload}.{change(signature)}", (KEY,))


def test_padding_that_pyjwt_alone_would_take_is_refused():
    forged = token() + "="
    assert jwt.decode(forged, KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False})["sub"] == "7"
    with pytest.raises(tokens.InvalidToken):
        tokens.read_signed_claims(forged, (KEY,))
