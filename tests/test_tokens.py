"""Token forgery: every way an attacker might make, bend or replay a JWT gets 401 with the contract's body.

The token is read from the cookie only; its header must be the HS256 one we issue; the
signature is checked before anything in the payload is believed; every claim must be
there with its type; time claims are checked with a 10 s leeway; and the database has
the last word (deleted account, revoked jti, token version, role).
"""

import base64
import json
import hashlib
import hmac

import jwt
import pytest

from support import (
    COOKIE_NAME,
    OTHER_KEY,
    PASSWORD,
    SECRET_KEY,
    TOKEN_INVALID,
    TOKEN_MISSING,
    X_ORIGIN,
    assert_error,
    b64url,
    b64url_json,
    cookie,
    forge,
    hs256,
    json,
    login,
    signup,
    the_cookie,
    token_for,
    token_of,
    unverified_claims,
)

LEEWAY = 10


@pytest.fixture
def alice(client):
    """``alice`` signed up and signed in: her token and its claims."""
    signup(client, "alice")
    token = token_for(client, "alice")
    return token, unverified_claims(token)


def get_id(client, headers=None, **kwargs):
    return client.get("/api/id", headers=headers or {}, expect_errors=True, **kwargs)


def assert_refused(response, message=TOKEN_INVALID):
    assert_error(response, 401, message)


# -- what we issue ------------------------------------------------------------------


def test_issued_token_decodes_with_pyjwt_pinned_to_hs256(alice, clock):
    token, _ = alice
    claims = jwt.decode(
        token, SECRET_KEY, algorithms=["HS256"], options={"require": ["exp", "iat", "jti", "_uid"]},
        leeway=LEEWAY,
    )  # fmt: skip
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert claims["_uid"] == "alice"
    assert isinstance(claims["sub"], str) and claims["sub"].isdigit()
    assert type(claims["ver"]) is int
    assert claims["iat"] == int(clock()) and claims["exp"] == claims["iat"] + 3600
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16  # >= 96 random bits


def test_every_login_gets_a_fresh_jti(client, alice):
    jtis = {unverified_claims(token_for(client, "alice"))["jti"] for _ in range(5)}
    assert len(jtis) == 5


def test_the_genuine_token_works(client, alice):
    token, _ = alice
    response = get_id(client, cookie(token))
    assert response.status_int == 200 and response.json["uid"] == "alice"


# -- the algorithm and the key --------------------------------------------------------


def _none_token(claims, alg="none", signature=""):
    return f"{b64url_json({'alg': alg, 'typ': 'JWT'})}.{b64url_json(claims)}.{signature}"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(client, alice, alg):
    _, claims = alice
    assert_refused(get_id(client, cookie(_none_token(claims, alg))))


def test_alg_none_keeping_the_genuine_signature_is_refused(client, alice):
    token, claims = alice
    assert_refused(get_id(client, cookie(_none_token(claims, signature=token.split(".")[2]))))


def test_wrong_key_is_refused(client, alice):
    _, claims = alice
    assert_refused(get_id(client, cookie(jwt.encode(claims, OTHER_KEY, algorithm="HS256"))))


@pytest.mark.parametrize(
    "change", [{"_uid": "root"}, {"sub": "999"}, {"ver": 7}, {"exp": 2**31 - 1}, {"jti": "other"}, {"role": "Admin"}]
)
def test_tampered_payload_with_the_old_signature_is_refused(client, alice, change):
    token, claims = alice
    header, _, signature = token.split(".")
    tampered = f"{header}.{b64url_json({**claims, **change})}.{signature}"
    assert_refused(get_id(client, cookie(tampered)))


def test_hs512_with_the_right_key_is_refused(client, alice):
    _, claims = alice
    assert_refused(get_id(client, cookie(jwt.encode(claims, SECRET_KEY, algorithm="HS512"))))


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "HS384"])
def test_other_alg_header_signed_hmac_sha256_with_the_right_key_is_refused(client, alice, alg):
    """Key confusion: an RS256 header whose "signature" is an HMAC made with our key (as if it were a public key)."""
    _, claims = alice
    assert_refused(get_id(client, cookie(hs256({"alg": alg, "typ": "JWT"}, claims))))


@pytest.mark.parametrize(
    "extra",
    [
        {"jwk": {"kty": "oct", "k": b64url(OTHER_KEY.encode())}},
        {"jku": "https://evil.test/keys.json"},
        {"kid": "../../../../dev/null"},
        {"x5u": "https://evil.test/cert.pem"},
    ],
)
def test_header_cannot_choose_the_key(client, alice, extra):
    """jwk/jku/kid/x5u name a key the attacker controls; the token is signed with that key."""
    _, claims = alice
    assert_refused(get_id(client, cookie(hs256({"alg": "HS256", "typ": "JWT", **extra}, claims, OTHER_KEY))))


# -- time -------------------------------------------------------------------------------


def test_expired_beyond_the_leeway_is_refused(client, clock, alice):
    token, claims = alice
    clock.now = claims["exp"] + LEEWAY - 1
    assert get_id(client, cookie(token)).status_int == 200  # within the leeway
    clock.now = claims["exp"] + LEEWAY + 1
    assert_refused(get_id(client, cookie(token)))
    clock.now = claims["exp"] + 86400
    assert_refused(get_id(client, cookie(token)))


def test_iat_in_the_future_is_refused(client, clock, alice):
    _, claims = alice
    now = int(clock())
    assert get_id(client, cookie(forge({**claims, "iat": now + LEEWAY - 1}))).status_int == 200
    assert_refused(get_id(client, cookie(forge({**claims, "iat": now + 60, "exp": now + 3660}))))


@pytest.mark.parametrize("nbf_offset", [60, LEEWAY + 1, 10**6])
def test_nbf_in_the_future_is_refused(client, clock, alice, nbf_offset):
    _, claims = alice
    assert_refused(get_id(client, cookie(forge({**claims, "nbf": int(clock()) + nbf_offset}))))


@pytest.mark.parametrize("nbf", ["0", 1.5, "soon", [0], True, {"at": 0}])
def test_nbf_of_another_type_is_refused(client, alice, nbf):
    _, claims = alice
    assert_refused(get_id(client, cookie(forge({**claims, "nbf": nbf}))))


# -- the claims -----------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["_uid", "sub", "ver", "iat", "exp", "jti"])
def test_each_required_claim_missing_is_refused(client, alice, claim):
    _, claims = alice
    claims = {k: v for k, v in claims.items() if k != claim}
    assert_refused(get_id(client, cookie(forge(claims))))


@pytest.mark.parametrize(
    "claim, value",
    [
        ("_uid", 1), ("_uid", None), ("_uid", ["alice"]), ("_uid", {"uid": "alice"}), ("_uid", True),
        ("sub", 1), ("sub", "abc"), ("sub", "-1"), ("sub", "1.0"), ("sub", " 1"), ("sub", "\u0661"), ("sub", ""),
        ("sub", "9" * 40), ("sub", None),
        ("ver", True), ("ver", False), ("ver", "0"), ("ver", 0.0), ("ver", None), ("ver", [0]),
        ("iat", "0"), ("iat", 1.5), ("iat", None), ("iat", True),
        ("exp", "9999999999"), ("exp", 1e12), ("exp", None), ("exp", True),
        ("jti", 1), ("jti", ""), ("jti", None), ("jti", "j" * 10000), ("jti", ["a"]),
    ],
)  # fmt: skip
def test_claim_of_the_wrong_type_is_refused(client, alice, claim, value):
    """Correctly signed (as with a stolen key): still refused, never a 500; ``ver: False`` is not 0."""
    _, claims = alice
    assert_refused(get_id(client, cookie(forge({**claims, claim: value}))))


def test_uid_and_account_must_agree(client, alice):
    signup(client, "bob")
    _, claims = alice
    assert_refused(get_id(client, cookie(forge({**claims, "_uid": "bob"}))))
    assert_refused(get_id(client, cookie(forge({**claims, "sub": str(int(claims["sub"]) + 1)}))))
    assert_refused(get_id(client, cookie(forge({**claims, "_uid": "ALICE"}))))


@pytest.mark.parametrize(
    "payload",
    ["[]", '"alice"', "1", "null", "[" * 3000, '{"a":' * 2000, "\xff\xfe"],
    ids=["array", "string", "number", "null", "deep-array", "deep-object", "not-utf8"],
)
def test_payload_that_is_not_a_claims_object_is_refused(client, payload):
    """Even correctly signed; and a forged 3,000-deep payload must not reach json.loads (it was a 500)."""
    raw = payload.encode("latin-1")
    header = b64url_json({"alg": "HS256", "typ": "JWT"})
    forged = f"{header}.{b64url(raw)}.{b64url(b'x' * 32)}"
    assert_refused(get_id(client, cookie(forged)))
    signing_input = f"{header}.{b64url(raw)}"
    signature = hmac.new(SECRET_KEY.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert_refused(get_id(client, cookie(f"{signing_input}.{b64url(signature)}")))


# -- the account behind the token -----------------------------------------------------------


def test_token_of_a_deleted_user_is_refused(client, admin_token, alice):
    token, _ = alice
    response = client.delete("/api/users/alice", headers={**X_ORIGIN, **cookie(admin_token)})
    assert response.status_int == 204
    assert_refused(get_id(client, cookie(token)))


def test_token_of_a_deleted_user_stays_refused_after_the_uid_is_registered_again(client, admin_token, alice):
    old_token, old_claims = alice
    client.delete("/api/users/alice", headers={**X_ORIGIN, **cookie(admin_token)})
    signup(client, "alice", password="a new password 2")
    assert_refused(get_id(client, cookie(old_token)))
    new_token = token_for(client, "alice", "a new password 2")
    assert unverified_claims(new_token)["sub"] != old_claims["sub"]
    assert get_id(client, cookie(new_token)).json["uid"] == "alice"
    assert_refused(get_id(client, cookie(old_token)))


def test_role_is_read_from_the_database_not_the_token(app, client, alice):
    token, _ = alice
    assert client.get("/api/users", headers=cookie(token), expect_errors=True).status_int == 403
    app.store.set_role("alice", "Admin")
    assert client.get("/api/users", headers=cookie(token)).status_int == 200  # same token, new role
    app.store.set_role("alice", "User")
    assert_error(client.get("/api/users", headers=cookie(token), expect_errors=True), 403)


def test_revoked_jti_replayed_after_logout_is_refused(client, alice):
    token, _ = alice
    response = client.delete("/api/authenticate", headers={**X_ORIGIN, **cookie(token)})
    assert response.status_int == 200
    assert_refused(get_id(client, cookie(token)))
    assert_refused(client.get("/api/data", headers=cookie(token), expect_errors=True))
    assert_refused(client.delete("/api/authenticate", headers={**X_ORIGIN, **cookie(token)}, expect_errors=True))


def test_password_change_revokes_every_other_token(client, alice):
    token_a, _ = alice
    token_b = token_for(client, "alice")
    response = client.put_json(
        "/api/user", {"password": "a brand new one", "current_password": PASSWORD}, headers=cookie(token_a)
    )
    fresh = token_of(response)
    assert_refused(get_id(client, cookie(token_b)))
    assert_refused(get_id(client, cookie(token_a)))
    assert get_id(client, cookie(fresh)).status_int == 200


# -- malformed cookies and other places a token might be put ------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "garbage", "a.b.c", "..", "...", "eyJ.eyJ.", "e30.e30.e30", "null", "undefined", "Bearer x",
        "x" * 10240, "t\xf6k\xe9n", "\xff\xfe\xfd", '"quoted"', "%00", "=", "a.b.c.d.e",
    ],
)  # fmt: skip
def test_garbage_cookie_values_are_refused(client, value):
    response = client.get("/api/id", extra_environ={"HTTP_COOKIE": f"jwt_python_flask={value}"}, expect_errors=True)
    assert_refused(response)


def test_empty_cookie_value_is_a_missing_token(client):
    response = client.get("/api/id", extra_environ={"HTTP_COOKIE": "jwt_python_flask="}, expect_errors=True)
    assert_refused(response, TOKEN_MISSING)


def test_genuine_token_with_bytes_appended_or_padded_is_refused(client, alice):
    token, _ = alice
    for bent in (token + "=", token + "A", token + ".", token[:-1], token.replace(".", "..", 1), " " + token + "x"):
        assert_refused(get_id(client, cookie(bent)))


def test_token_in_authorization_header_is_ignored(client, alice):
    token, _ = alice
    assert_refused(get_id(client, {"Authorization": f"Bearer {token}"}), TOKEN_MISSING)
    assert_refused(get_id(client, {"Authorization": f"JWT {token}"}), TOKEN_MISSING)


def test_token_in_query_string_is_ignored(client, alice):
    token, _ = alice
    for name in ("token", "jwt", "jwt_python_flask", "access_token"):
        assert_refused(client.get(f"/api/id?{name}={token}", expect_errors=True), TOKEN_MISSING)


def test_token_in_body_is_ignored(client, alice):
    token, _ = alice
    response = client.put_json("/api/user", {"name": "Mallory", "token": token}, expect_errors=True)
    assert_refused(response, TOKEN_MISSING)


def test_token_under_another_cookie_name_is_ignored(client, alice):
    token, _ = alice
    for name in ("jwt", "xjwt_python_flask", "jwt_python_flask_", "JWT_PYTHON_FLASK", "token"):
        response = client.get("/api/id", extra_environ={"HTTP_COOKIE": f"{name}={token}"}, expect_errors=True)
        assert_refused(response, TOKEN_MISSING)


def _with_cookies(client, *values):
    header = "; ".join(f"jwt_python_flask={v}" for v in values)
    return client.get("/api/id", extra_environ={"HTTP_COOKIE": header}, expect_errors=True)


def test_two_cookies_of_the_same_name_are_deterministic(client, alice):
    token, _ = alice
    for order in ((token, "garbage"), ("garbage", token)):
        outcomes = {(r.status_int, r.body) for r in (_with_cookies(client, *order) for _ in range(5))}
        assert len(outcomes) == 1, outcomes
        status, _ = outcomes.pop()
        assert status in (200, 401)


def test_two_cookies_never_let_a_revoked_or_forged_token_through(client, alice):
    """With a revoked (or forged) token beside a valid one, the answer is bob or 401, never alice's identity."""
    alice_token, alice_claims = alice
    client.delete("/api/authenticate", headers={**X_ORIGIN, **cookie(alice_token)})
    signup(client, "bob")
    bob_token = token_for(client, "bob")
    forged = forge({**alice_claims, "jti": "forged"}, OTHER_KEY)
    for bad in (alice_token, forged, "garbage"):
        for order in ((bad, bob_token), (bob_token, bad)):
            response = _with_cookies(client, *order)
            if response.status_int == 200:
                assert response.json["uid"] == "bob"
            else:
                assert_refused(response)
        assert_refused(_with_cookies(client, bad, bad))
    assert_refused(_with_cookies(client, alice_token, forged))


def test_a_token_is_never_echoed_in_a_body(client, alice):
    token, _ = alice
    for response in (
        get_id(client, cookie(token)),
        client.get("/api/data", headers=cookie(token)),
        get_id(client, cookie(token + "x")),
    ):
        assert token not in response.text and token.split(".")[2] not in response.text


def test_base64_without_padding_is_how_we_issue(alice):
    token, _ = alice
    assert "=" not in token and all(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in token.split("."))


def test_housekeeping_never_forgets_a_revocation_while_the_token_lives(client, clock, alice):
    """Revoked jtis are purged only after their token has expired (leeway included)."""
    token, claims = alice
    client.delete("/api/authenticate", headers={**X_ORIGIN, **cookie(token)})
    for moment in (claims["exp"] - 1, claims["exp"] + LEEWAY - 1, claims["exp"] + LEEWAY + 61):
        clock.now = moment
        client.post_json("/api/authenticate", {"uid": "nobody", "password": "x" * 8}, expect_errors=True)  # purges
        token_for(client, "alice")  # purges too
        assert_refused(get_id(client, cookie(token)))


def test_login_token_claims_verify_with_pyjwt_and_match_ttl(client, clock):
    signup(client, "toby")
    token = token_of(login(client, "toby"))
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(
        token,
        SECRET_KEY,
        algorithms=["HS256"],
        options={"require": ["_uid", "iat", "exp", "jti"]},
        leeway=60,
    )
    assert claims["_uid"] == "toby"
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert abs(claims["iat"] - clock.now) <= 1
    assert claims["exp"] - claims["iat"] == 3600
    assert isinstance(claims["jti"], str) and claims["jti"]



def test_each_login_gets_a_token_with_its_own_jti(client, make_client):
    signup(client, "toby")
    first = token_of(login(client, "toby"))
    second = token_of(login(make_client(), "toby"))
    decode = lambda t: jwt.decode(t, SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False})  # noqa: E731
    assert decode(first)["jti"] != decode(second)["jti"]



def test_token_ttl_setting_drives_both_max_age_and_exp(make_app, make_client):
    client = make_client(make_app(token_ttl=120))
    signup(client, "toby")
    resp = login(client, "toby")
    _, token, attrs, _ = the_cookie(resp)
    assert attrs["max-age"] == "120"
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["exp"] - claims["iat"] == 120



def test_bearer_header_is_not_read_even_from_a_signed_in_browser(client, signed_in):
    token = token_of(signed_in)
    client.reset()
    resp = client.get("/api/id", headers={"Authorization": f"Bearer {token}"}, expect_errors=True)
    assert_error(resp, 401, message=TOKEN_MISSING)



def test_query_string_token_is_not_read_even_from_a_signed_in_browser(client, signed_in):
    token = token_of(signed_in)
    client.reset()
    resp = client.get(f"/api/id?{COOKIE_NAME}={token}&token={token}", expect_errors=True)
    assert_error(resp, 401, message=TOKEN_MISSING)



def test_token_expires_after_ttl_by_the_app_clock(client, signed_in, clock):
    clock.advance(3600 + 11)  # past exp and the 10 s leeway
    resp = client.get("/api/id", expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)



def test_token_still_valid_just_before_exp(client, signed_in, clock):
    clock.advance(3600 - 5)
    assert client.get("/api/id").json["uid"] == "alice"


def b64_json(data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()



def forged_none_token(claims):
    return f"{b64_json({'alg': 'none', 'typ': 'JWT'})}.{b64_json(claims)}."



GARBAGE_COOKIES = [
    "garbage",
    "",
    "a.b.c",
    "....",
    "x" * 8000,
    "eyJhbGciOiJIUzI1NiJ9.%%%%.@@@@",
    "eyJ" + "A" * 5000 + ".eyJ.sig",
    "\u00e9\u00e9\u00e9",
]



@pytest.mark.parametrize("value", GARBAGE_COOKIES,
                         ids=["word", "empty", "three-parts", "dots", "8000-chars", "bad-base64", "huge-header",
                              "latin1"])
def test_garbage_cookie_is_401(client, value):
    signup(client, "toby")
    resp = client.get("/api/id", headers={"Cookie": f"{COOKIE_NAME}={value}"}, expect_errors=True)
    assert_error(resp, 401)



def test_malformed_cookie_header_is_401(client):
    for header in (f"{COOKIE_NAME}", f"{COOKIE_NAME}=\"unterminated", ";;;=;=;", f"{COOKIE_NAME}=a; {COOKIE_NAME}=b",
                   "x" * 16000):
        resp = client.get("/api/id", headers={"Cookie": header}, expect_errors=True)
        assert_error(resp, 401)



def pyjwt_token(claims, key=SECRET_KEY, algorithm="HS256", headers=None):
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)



def good_claims(login_resp, **changes):
    claims = jwt.decode(token_of(login_resp), SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False})
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not ...}



def send_token(client, token):
    client.reset()
    return client.get("/api/id", headers={"Cookie": f"{COOKIE_NAME}={token}"}, expect_errors=True)



def test_resent_valid_token_works_as_control(client, signed_in):
    resp = send_token(client, pyjwt_token(good_claims(signed_in)))
    assert resp.status_int == 200 and resp.json["uid"] == "alice"



@pytest.mark.parametrize("case", [
    "other-key", "alg-none", "hs512", "hs384", "missing-exp", "missing-iat", "missing-jti", "missing-uid",
    "uid-int", "exp-string", "expired", "iat-future", "nbf-future", "claims-array", "sub-other-user", "sub-junk",
    "ver-old",
])
def test_forged_or_broken_token_is_401(client, signed_in, clock, case):
    now = int(clock.now)
    claims = good_claims(signed_in)
    token = {
        "other-key": lambda: pyjwt_token(claims, key="another key that is long enough for hs256!!"),
        "alg-none": lambda: forged_none_token(claims),
        "hs512": lambda: pyjwt_token(claims, algorithm="HS512"),
        "hs384": lambda: pyjwt_token(claims, algorithm="HS384"),
        "missing-exp": lambda: pyjwt_token(good_claims(signed_in, exp=...)),
        "missing-iat": lambda: pyjwt_token(good_claims(signed_in, iat=...)),
        "missing-jti": lambda: pyjwt_token(good_claims(signed_in, jti=...)),
        "missing-uid": lambda: pyjwt_token(good_claims(signed_in, _uid=...)),
        "uid-int": lambda: pyjwt_token(good_claims(signed_in, _uid=1)),
        "exp-string": lambda: pyjwt_token(good_claims(signed_in, exp="never")),
        "expired": lambda: pyjwt_token(good_claims(signed_in, iat=now - 7200, exp=now - 3600)),
        "iat-future": lambda: pyjwt_token(good_claims(signed_in, iat=now + 3600, exp=now + 7200)),
        "nbf-future": lambda: pyjwt_token(good_claims(signed_in, nbf=now + 3600)),
        "claims-array": lambda: f"{pyjwt_token(claims).split('.')[0]}.{b64_json([1, 2])}.x",
        "sub-other-user": lambda: pyjwt_token(good_claims(signed_in, sub="999999")),
        "sub-junk": lambda: pyjwt_token(good_claims(signed_in, sub="1 OR 1=1")),
        "ver-old": lambda: pyjwt_token(good_claims(signed_in, ver=-1)),
    }[case]()
    resp = send_token(client, token)
    assert_error(resp, 401, message=TOKEN_INVALID)



def test_garbage_cookie_on_login_does_not_block_login(client):
    signup(client, "toby")
    client.set_cookie(COOKIE_NAME, "garbage")
    login(client, "toby", PASSWORD)


# --- exact boundaries: time, length, jti, sub ------------------------------------------------


def test_a_token_is_refused_exactly_at_exp_plus_the_leeway(client, clock, alice):
    token, claims = alice
    clock.now = claims["exp"] + LEEWAY - 1
    assert get_id(client, cookie(token)).status_int == 200
    clock.now = claims["exp"] + LEEWAY
    assert_refused(get_id(client, cookie(token)))


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_iat_and_nbf_exactly_at_now_plus_the_leeway_are_accepted_one_second_later_refused(client, clock, alice,
                                                                                          claim):
    _, claims = alice
    now = int(clock.now)
    at_the_edge = forge({**claims, claim: now + LEEWAY, "exp": now + 3600})
    assert get_id(client, cookie(at_the_edge)).json["uid"] == "alice"
    beyond = forge({**claims, claim: now + LEEWAY + 1, "exp": now + 3600})
    assert_refused(get_id(client, cookie(beyond)))


def _signed_token_of_length(claims, length):
    """A correctly signed token of exactly ``length`` characters (a padding claim makes up the rest)."""
    for size in range(length):
        token = forge({**claims, "pad": "x" * size})
        if len(token) >= length:
            assert len(token) == length, f"no token of exactly {length} characters"
            return token
    raise AssertionError(length)


def test_a_token_of_exactly_the_maximum_length_is_read_one_character_more_is_not(client, alice):
    _, claims = alice
    longest = _signed_token_of_length(claims, 4096)
    assert get_id(client, cookie(longest)).json["uid"] == "alice"
    too_long = _signed_token_of_length(claims, 4097)
    assert_refused(get_id(client, cookie(too_long)))


def test_a_jti_of_64_characters_is_accepted_65_is_refused(client, alice):
    _, claims = alice
    assert get_id(client, cookie(forge({**claims, "jti": "j" * 64}))).json["uid"] == "alice"
    assert_refused(get_id(client, cookie(forge({**claims, "jti": "j" * 65}))))


@pytest.mark.parametrize("sub", ["9" * 19, "1" + "0" * 18, "9223372036854775808"])
def test_a_correctly_signed_token_whose_sub_has_19_digits_is_401_never_500(client, alice, sub):
    """One digit more than the guard allows: past SQLite's integer range, it must be refused before the lookup."""
    _, claims = alice
    assert_refused(get_id(client, cookie(forge({**claims, "sub": sub}))))


def test_a_correctly_signed_token_whose_sub_has_18_digits_is_read_and_finds_nobody(client, alice):
    _, claims = alice
    assert_refused(get_id(client, cookie(forge({**claims, "sub": "9" * 18}))))
