"""WSGI_AUTH_GITHUB_* and WSGI_AUTH_OIDC_*: which providers a service offers, and the mistakes
that stop it at start instead of showing a button that cannot work."""

import os
import subprocess
import sys

import pytest

from wsgi_auth.features.oauth import providers as oauth
from wsgi_auth.config import ConfigError, load_settings

KEY = "k" * 40


def providers(**settings):
    return oauth.configured(load_settings(secret_key=KEY, **settings))


def test_no_settings_no_providers():
    assert providers() == {}


LOADED = """
import sys
from wsgi_auth import create_app
create_app(database=sys.argv[1], secret_key="k" * 40, access_log=False)
print(sorted({m.split(".")[0] for m in sys.modules} & {"requests", "authlib", "joserfc"}))
"""


@pytest.mark.parametrize("env, expected", [
    ({}, "[]"),  # no provider: about 9 MiB a process never loaded
    ({"WSGI_AUTH_GITHUB_CLIENT_ID": "id", "WSGI_AUTH_GITHUB_CLIENT_SECRET": "s"}, "['authlib', 'joserfc', 'requests']"),
])  # fmt: skip
def test_the_oauth_libraries_load_only_with_a_provider(tmp_path, env, expected):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    done = subprocess.run([sys.executable, "-c", LOADED, str(tmp_path / "x.sqlite3")], capture_output=True, text=True,
                          timeout=60, cwd=repo, env={**clean, "PYTHONPATH": repo, **env})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_github_needs_id_and_secret_and_defaults_to_github_com():
    github = providers(github_client_id="id", github_client_secret="secret")["github"]
    assert (github.name, github.url, github.api_url) == ("GitHub", "https://github.com", "https://api.github.com")
    assert github.authorization_endpoint() == "https://github.com/login/oauth/authorize"


def test_github_enterprise_urls():
    github = providers(github_client_id="i", github_client_secret="s", github_url="https://git.school.example/",
                       github_api_url="https://git.school.example/api/v3")["github"]  # fmt: skip
    assert github.authorization_endpoint() == "https://git.school.example/login/oauth/authorize"
    assert github.api_url == "https://git.school.example/api/v3"


def test_oidc_from_the_environment(monkeypatch):
    monkeypatch.setenv("WSGI_AUTH_OIDC_ISSUER", "https://accounts.google.com")
    monkeypatch.setenv("WSGI_AUTH_OIDC_CLIENT_ID", "client")
    monkeypatch.setenv("WSGI_AUTH_OIDC_CLIENT_SECRET", "secret")
    monkeypatch.setenv("WSGI_AUTH_OIDC_NAME", "Google")
    found = providers()
    assert list(found) == ["oidc"]
    assert (found["oidc"].issuer, found["oidc"].name, found["oidc"].client_secret) == (
        "https://accounts.google.com", "Google", "secret")


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"github_client_id": "only-the-id"}, "go together"),
        ({"github_client_secret": "only-the-secret"}, "go together"),
        ({"oidc_issuer": "https://accounts.google.com"}, "go together"),
        ({"oidc_client_id": "c"}, "go together"),
        ({"oidc_issuer": "http://accounts.example", "oidc_client_id": "c"}, "https://"),
        ({"github_url": "javascript:alert(1)"}, "https://"),
        ({"github_api_url": "https://"}, "https://"),
    ],
)
def test_half_or_unsafe_settings_stop_the_service(settings, words):
    with pytest.raises(ConfigError, match=words):
        load_settings(secret_key=KEY, **settings)
