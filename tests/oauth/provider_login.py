"""A user at the provider, without a browser: follow the authorization URL through the
provider's own login and consent pages and stop at the redirect back to us.

Works for oidc-provider's development pages and the GitHub stand-in's Authorize page
(both plain HTML forms), so the request tests go through the same pages the browser tests click.
"""

import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import requests

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT = re.compile(r"<input\b([^>]*)>", re.I)
ATTRIBUTE = re.compile(r'([\w-]+)\s*=\s*"([^"]*)"')


def _form(page: str, base: str) -> tuple[str, dict]:
    found = FORM.search(page)
    if not found:
        raise AssertionError(f"no form on the provider's page:\n{page[:2000]}")
    action = dict(ATTRIBUTE.findall(found.group(1))).get("action", "")
    fields = {}
    for attributes in INPUT.findall(found.group(2)):
        attrs = {k: unescape(v) for k, v in ATTRIBUTE.findall(attributes)}
        if "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return urljoin(base, unescape(action)), fields


def _is_back(url: str, back_to: str) -> bool:
    """The provider sends the browser to our callback (``https://localhost:443/x`` is ``https://localhost/x``)."""
    a, b = urlsplit(url), urlsplit(back_to)
    return (a.scheme, a.hostname, a.port or 443, a.path) == (b.scheme, b.hostname, b.port or 443, b.path)


def sign_in(authorize_url: str, login: str, back_to: str, allow: bool = True, session=None) -> str:
    """Sign in at the provider as ``login`` and allow (or cancel); returns the URL the provider
    sends the browser back to (starting with ``back_to``), without following it."""
    session = session or requests.Session()
    url = authorize_url
    for _ in range(12):
        response = session.get(url, allow_redirects=False, timeout=10)
        while response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if _is_back(url, back_to):
                return url
            response = session.get(url, allow_redirects=False, timeout=10)
        assert response.status_code == 200, f"{response.status_code} from the provider at {url}: {response.text[:1000]}"
        action, fields = _form(response.text, url)
        if "abort" in response.text and not allow:  # oidc-provider: the "Cancel" link
            match = re.search(r'href="([^"]*abort[^"]*)"', response.text)
            url = urljoin(url, unescape(match.group(1)))
            continue
        if "login" in fields or fields.get("prompt") == "login":
            fields.update(login=login, password="any password")
        fields["decision"] = "allow" if allow else "deny"  # the GitHub stand-in's two buttons
        response = session.post(action, data=fields, allow_redirects=False, timeout=10)
        assert response.is_redirect, f"{response.status_code} after posting to {action}: {response.text[:1000]}"
        url = urljoin(action, response.headers["Location"])
        if _is_back(url, back_to):
            return url
    raise AssertionError("the provider never sent the browser back")
