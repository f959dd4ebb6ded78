"""wsgi_auth/openapi.json: a valid OpenAPI 3.1 document that describes every route, and every answer each can give.

The route table (``wsgi_auth.routing.ROUTES``) is the truth; this file checks the
document against it in both directions, and against the rules in the code
(uid pattern, password lengths, reasons, page size). Whether the live service
keeps to the document is test_schemathesis.py's job.
"""

import configparser
import json
import re

import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from wsgi_auth import http, passwords, validation
from wsgi_auth.handlers import meta
from wsgi_auth.routing import ADMIN, ANYONE, ROUTES

from support import REPO_DIR

DOC = json.loads(meta.OPENAPI_PATH.read_text("utf-8"))
STATE_CHANGING = {"post", "put", "patch", "delete"}
READS_A_BODY = {"post", "put"}  # every POST and PUT handler reads a JSON object (read_json_object)
BODY_DELETES = {("delete", "/api/mfa/totp")}  # a DELETE that reads a body: turning TOTP off takes the password and a code
BODYLESS = {("post", "/api/users/{uid}/password-reset"),  # a POST that reads no body: the uid is in the path
            ("post", "/api/passkeys/options"),  # the signed-in user is all it needs
            ("post", "/api/user/email/verification")}  # the link again: to the signed-in user's address
THROTTLED = {("post", "/api/authenticate"), ("post", "/api/user"), ("put", "/api/user"),
             ("post", "/api/password-reset"), ("post", "/api/password-reset/confirm"),
             ("post", "/api/mfa/totp"), ("delete", "/api/mfa/totp"),  # a wrong current_password counts
             ("post", "/api/authenticate/passkey/options"), ("post", "/api/authenticate/passkey"),
             ("post", "/api/user/email/verify"), ("post", "/api/user/email/verification"),  # guessing; 3 links an hour
             ("post", "/api/reauth"), ("get", "/api/oauth/{provider}/start"), ("head", "/api/oauth/{provider}/start")}
STATIC_OPERATIONS = {("get", "/"), ("head", "/"), ("get", "/{file}"), ("head", "/{file}")}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Browser navigations of "Sign in with GitHub / OpenID Connect": a redirect, or a page saying what failed.
BROWSER_NAVIGATIONS = {("get", "/api/oauth/{provider}/start"), ("get", "/api/oauth/{provider}/callback")}


def openapi_path(route_path: str) -> str:
    return re.sub(r"<(\w+)>", r"{\1}", route_path)


def deref(node):
    """Follow local ``$ref``s, e.g. ``#/components/responses/Unauthorized``."""
    while isinstance(node, dict) and "$ref" in node:
        target = DOC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations():
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def route_operations():
    return [(method.lower(), openapi_path(path), access) for method, path, _, access in ROUTES]


ROUTE_IDS = [f"{m.upper()} {p}" for m, p, _ in route_operations()]


def operation(method, path):
    return DOC["paths"][path][method]


def responses(method, path) -> dict:
    return {status: deref(response) for status, response in operation(method, path)["responses"].items()}


def schema_validator(schema):
    """A JSON Schema 2020-12 validator whose ``$ref``s resolve inside the OpenAPI document."""
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(DOC, default_specification=DRAFT202012))
    rebased = json.loads(json.dumps(schema).replace('"#/components/', '"urn:openapi#/components/'))
    return jsonschema.Draft202012Validator(rebased, registry=registry, format_checker=jsonschema.FormatChecker())


# -- the document ------------------------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1():
    assert DOC["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(DOC).validate()


def test_version_is_the_package_version():
    setup = configparser.ConfigParser()
    setup.read(REPO_DIR / "setup.cfg")
    assert DOC["info"]["version"] == setup["metadata"]["version"]


def test_document_is_shipped_with_the_package():
    setup = configparser.ConfigParser()
    setup.read(REPO_DIR / "setup.cfg")
    assert "openapi.json" in setup["options.package_data"]["wsgi_auth"]
    assert not (REPO_DIR / "openapi.json").exists(), "one source: wsgi_auth/openapi.json"


def test_served_document_is_the_package_file(make_app):
    app = make_app()
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured.update(status=status, headers=dict(headers))

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/openapi.json", "wsgi.url_scheme": "http",
               "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1", "wsgi.input": None}  # fmt: skip
    body = b"".join(app(environ, start_response))
    assert captured["status"] == "200 OK"
    assert captured["headers"]["Content-Type"] == "application/json"
    assert json.loads(body) == DOC


# -- routes, both ways -------------------------------------------------------------------------------------


def test_every_route_is_described_and_every_described_operation_is_a_route():
    routes = {(method, path) for method, path, _ in route_operations()}
    api_paths = {path for _, path in routes}
    described = {(method, path) for method, path, _ in operations()}
    preflights = {("options", path) for path in api_paths}
    assert routes - described == set(), "routes missing from openapi.json"
    assert described - routes - preflights - STATIC_OPERATIONS == set(), "described but not routed"
    assert preflights <= described, "every API path answers OPTIONS (CORS preflight, or Allow)"
    assert {path for path in DOC["paths"] if path.startswith("/api/")} == api_paths


def test_operation_ids_are_unique():
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))


# -- every answer the service can give ---------------------------------------------------------------------


@pytest.mark.parametrize("method, path, access", route_operations(), ids=ROUTE_IDS)
def test_access_rules_are_described(method, path, access):
    op, answers = operation(method, path), responses(method, path)
    if access is ANYONE:
        assert not op.get("security"), "a public operation needs no cookie"
    else:
        assert op["security"] == [{"cookieAuth": []}]
        assert "401" in answers, "no or a bad token: 401"
    if access is ADMIN:
        assert "403" in answers, "not an Admin: 403"
    assert "500" in answers


@pytest.mark.parametrize("method, path", [(m, p) for m, p, _ in route_operations() if m in STATE_CHANGING])
def test_csrf_refusal_is_described_on_every_state_changing_operation(method, path):
    assert "403" in responses(method, path)
    names = {deref(p)["name"] for p in operation(method, path).get("parameters", [])}
    assert "X-Origin" in names


@pytest.mark.parametrize("method, path, access", route_operations(), ids=ROUTE_IDS)
def test_body_errors_are_described_on_every_operation_that_reads_a_body(method, path, access):
    op = operation(method, path)
    if (method not in READS_A_BODY and (method, path) not in BODY_DELETES) or (method, path) in BODYLESS:
        assert "requestBody" not in op
        return
    assert op["requestBody"]["required"] is True
    assert set(op["requestBody"]["content"]) == {"application/json"}
    assert {"400", "413", "415"} <= set(responses(method, path))


@pytest.mark.parametrize("method, path, access", route_operations(), ids=ROUTE_IDS)
def test_throttling_and_not_found_are_described_where_they_happen(method, path, access):
    answers = responses(method, path)
    assert ("429" in answers) == ((method, path) in THROTTLED)
    if "429" in answers:
        assert deref(answers["429"]["headers"]["Retry-After"])["required"] is True
    if "{" in path:
        assert "404" in answers, "an unknown uid is 404"


def test_every_response_has_a_request_id_and_every_error_the_error_body():
    error_schema = {"$ref": "#/components/schemas/Error"}
    for method, path, op in operations():
        for status, response in op["responses"].items():
            response = deref(response)
            where = f"{method.upper()} {path} {status}"
            assert deref(response["headers"]["X-Request-ID"])["required"] is True, where
            if (method, path) in BROWSER_NAVIGATIONS and status in ("302", "400"):
                assert list(response.get("content", {"text/html": 0})) == ["text/html"], where
            elif int(status) >= 400:
                assert list(response["content"]) == ["application/json"], where
                assert response["content"]["application/json"]["schema"] == error_schema, where
            elif status == "204" or method == "head":
                assert "content" not in response, where
            elif path.startswith("/api/"):
                assert list(response["content"]) == ["application/json"], where


def test_method_not_allowed_is_described_with_its_allow_header():
    response = DOC["components"]["responses"]["MethodNotAllowed"]
    assert deref(response["headers"]["Allow"])["required"] is True
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_login_and_logout_describe_the_cookie():
    assert deref(responses("post", "/api/authenticate")["200"]["headers"]["Set-Cookie"])["required"] is True
    assert deref(responses("delete", "/api/authenticate")["200"]["headers"]["Set-Cookie"])["required"] is True
    scheme = DOC["components"]["securitySchemes"]["cookieAuth"]
    assert scheme == {**scheme, "type": "apiKey", "in": "cookie", "name": "jwt_python_flask"}


# -- the schemas say what the code says --------------------------------------------------------------------


def test_request_constraints_are_the_code_constraints():
    schemas = DOC["components"]["schemas"]
    uid = schemas["Uid"]
    assert uid["pattern"] == f"^{validation.UID_PATTERN.pattern}$"
    assert uid["maxLength"] == 39 and uid["minLength"] == 1
    assert (schemas["Password"]["minLength"], schemas["Password"]["maxLength"]) == (passwords.MIN_LENGTH,
                                                                                    passwords.MAX_LENGTH)
    assert schemas["Name"]["maxLength"] == validation.NAME_MAX
    assert tuple(schemas["Role"]["enum"]) == validation.ROLES
    assert set(schemas["Error"]["properties"]["error"]["enum"]) == set(http.REASONS.values())
    assert schemas["UserList"]["properties"]["per_page"]["maximum"] == validation.MAX_PER_PAGE


@pytest.mark.parametrize(
    "value, valid",
    [("toby", True), ("a", True), ("a-b-c", True), ("x" * 39, True), ("x" * 40, False), ("-a", False),
     ("a-", False), ("a--b", False), ("a_b", False), ("tóby", False), ("", False)],
)  # fmt: skip
def test_uid_schema_agrees_with_the_server(value, valid):
    assert schema_validator({"$ref": "#/components/schemas/Uid"}).is_valid(value) is valid
    assert validation.is_uid(value) is valid


@pytest.mark.parametrize(
    "value", ["Toby", "  Toby ", "Zoë 李", "x" * 100, "", "   ", "x" * 101, "a\x00b", "tab\there", "a\x85b"]
)
def test_name_schema_agrees_with_the_server(value):
    try:
        validation.name({"name": value})
        server = True
    except http.HTTPError:
        server = False
    assert schema_validator({"$ref": "#/components/schemas/Name"}).is_valid(value) is server


@pytest.mark.parametrize(
    "value", ["toby@example.com", "a@b.c", None, "", "no-at.example.com", "a b@c.d", "a@b", "x" * 65 + "@b.c",
              "a@@b.c", "a@b.c" + "x" * 250]
)  # fmt: skip
def test_email_schema_agrees_with_the_server(value):
    try:
        validation.email({"email": value})
        server = True
    except http.HTTPError:
        server = False
    assert schema_validator({"$ref": "#/components/schemas/Email"}).is_valid(value) is server


def test_every_example_is_valid_against_its_schema():
    checked = 0
    for name, schema in DOC["components"]["schemas"].items():
        if "example" in schema:
            schema_validator({"$ref": f"#/components/schemas/{name}"}).validate(schema["example"])
            checked += 1
    all_responses = [deref(r) for _, _, op in operations() for r in op["responses"].values()]
    all_responses += list(DOC["components"]["responses"].values())
    for response in all_responses:
        for media in response.get("content", {}).values():
            if "example" in media:
                schema_validator(media["schema"]).validate(media["example"])
                checked += 1
    assert checked >= 20
