"""Settings: read from the environment (``WSGI_AUTH_*``) or passed to ``create_app(**overrides)``.

Every setting is checked once, at start, so a mistake stops the service with a
clear message instead of surfacing as a 500 on the first request.
"""

import dataclasses
import difflib
import os
import re
import secrets
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Callable, TextIO

from .mail import SMTPServer, parse_smtp_url

ENV_PREFIX = "WSGI_AUTH_"
MIN_KEY_BYTES = 32
PROJECT_DIR = Path(__file__).resolve().parent.parent
# The pages: inside the package when it was installed from a wheel (setup.py ships public/ as wsgi_auth/public/),
# else the checkout's top-level public/ (a source checkout, an editable install).
INSTALLED_PUBLIC_DIR = Path(__file__).resolve().parent / "public"
PUBLIC_DIR = INSTALLED_PUBLIC_DIR if INSTALLED_PUBLIC_DIR.is_dir() else PROJECT_DIR / "public"
# The lesson's frontend (a Jekyll site on port 4100) and the static copy of public/ the browser
# tests and the lesson's own config.js use on port 4887: local development origins only.
DEFAULT_ALLOWED_ORIGINS = "http://localhost:4100,http://127.0.0.1:4100,http://localhost:4887,http://127.0.0.1:4887"


class ConfigError(ValueError):
    """A setting is missing or wrong; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Settings:
    database: str
    secret_key: bytes
    previous_secret_key: bytes | None
    allowed_origins: tuple[str, ...]
    cookie_name: str
    cookie_secure: bool
    token_ttl: int
    bcrypt_rounds: int
    max_body: int
    trusted_proxies: int
    access_log: TextIO | None
    log_format: str
    clock: Callable[[], float]
    public_dir: str
    # Sessions and password reset (docs/SESSIONS.md)
    session_max_age: int
    public_url: str | None  # base of the links we send; None: the request's own origin
    smtp: SMTPServer | None  # None: no reset by email
    mail_from: str
    reset_ttl: int
    oauth: "OAuthSettings" = None  # Sign in with GitHub / OpenID Connect (WSGI_AUTH_GITHUB_*, WSGI_AUTH_OIDC_*)
    # The login gate (hash_gate.py): bcrypt hashes this process runs at once, and how long a login may expect to wait
    hash_slots: int = 1
    login_wait: float = 10.0
    # "Remember me" (docs/SESSIONS.md): the idle and absolute limits instead of TOKEN_TTL and SESSION_MAX_AGE
    remember_idle: int = 7 * 24 * 3600
    remember_max_age: int = 30 * 24 * 3600
    reauth_window: int = 300  # seconds after a sign-in during which sensitive changes need no new proof (fresh_sign_in.py)

    @property
    def cookie_samesite(self) -> str:
        # SameSite=None is only accepted by browsers together with Secure.
        return "None" if self.cookie_secure else "Lax"


def database_label(database: str) -> str:
    """The database as an operator must see it: a sqlite file as its absolute path (a relative one is relative
    to the working directory), a URL with its password (in the address or a ``password=`` parameter) as ``***``."""
    if "://" not in database:
        return database if database == ":memory:" else os.path.abspath(database)
    url = urllib.parse.urlsplit(database)
    netloc = url.netloc
    if url.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}"
    query = "&".join(
        f"{name}=***" if name.lower() == "password" else f"{name}{sep}{value}"
        for name, sep, value in (part.partition("=") for part in url.query.split("&") if part)
    )
    return urllib.parse.urlunsplit((url.scheme, netloc, url.path, query, url.fragment))


# The whole-number settings: name -> (default, lowest, highest). Another one is a row here and a field of
# Settings; load_settings() reads and checks every row (a value outside its range stops the start with one line).
WHOLE_NUMBERS = {
    "token_ttl": (3600, 60, 30 * 24 * 3600),
    "bcrypt_rounds": (12, 4, 20),
    "max_body": (65536, 1024, 64 * 1024 * 1024),
    "trusted_proxies": (0, 0, 10),
    "session_max_age": (43200, 60, 366 * 24 * 3600),
    "reset_ttl": (1800, 60, 7 * 24 * 3600),
    "remember_idle": (604800, 60, 366 * 24 * 3600),
    "remember_max_age": (2592000, 60, 366 * 24 * 3600),
    "reauth_window": (300, 10, 24 * 3600),
}
# What WSGI_AUTH_DATABASE may be: a sqlite file path, or a URL with one of these schemes.
DATABASE_SCHEMES = ("postgresql", "postgres")


# Every WSGI_AUTH_* name load_settings() reads (_env adds each as it goes); any other one in the environment
# is a typo to stop at, not a setting to ignore (WSGI_AUTH_SECRETKEY would leave a generated key in use).
READ_NAMES: set[str] = set()
# WSGI_AUTH_* variables that are not the service's settings: the test suite's own switches.
NOT_SETTINGS = frozenset({"WSGI_AUTH_REQUIRE_BROWSER", "WSGI_AUTH_PG_BIN", "WSGI_AUTH_SERVE_THREADS"})


def _env(name: str, overrides: dict, default):
    READ_NAMES.add(ENV_PREFIX + name.upper())
    if name in overrides:
        return overrides.pop(name)
    return os.environ.get(ENV_PREFIX + name.upper(), default)


def _no_unknown_variables() -> None:
    unknown = sorted(n for n in os.environ if n.startswith(ENV_PREFIX) and n not in READ_NAMES | NOT_SETTINGS)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(READ_NAMES), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"{unknown[0]} is not a setting{hint}; every setting is in docs/OPERATIONS.md, Every setting")


def _int(name: str, value, low: int, high: int) -> int:
    if type(value) is int:
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value, re.ASCII):  # not "²", which int() refuses
        number = int(value)
    else:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be a whole number, not {value!r}")
    if not low <= number <= high:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be between {low} and {high}, not {number}")
    return number


def host_cores() -> int:
    """The cores this process may run on (a container or ``taskset`` may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _hash_slots(value) -> int:
    return host_cores() if value in (None, "") else _int("hash_slots", value, 1, 1024)


def _positive_number(name: str, value, high: float) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not 0 < number <= high:  # NaN fails too
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be a positive number of seconds up to {high:g}, not {value!r}")
    return number


def _bool(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be 1 or 0, not {value!r}")


def _whole_numbers(overrides: dict) -> dict:
    """Every setting of ``WHOLE_NUMBERS``, checked against its range."""
    return {name: _int(name, _env(name, overrides, default), low, high)
            for name, (default, low, high) in WHOLE_NUMBERS.items()}  # fmt: skip


def check_database(value, what: str = f"{ENV_PREFIX}DATABASE") -> str:
    """A sqlite file path or a ``postgresql://`` URL; any other URL is a mistake, not a file name."""
    database = str(value).strip()
    scheme, sep, _ = database.partition("://")
    if not database:
        raise ConfigError(f"{what} is empty: give a sqlite file path or a postgresql:// URL")
    if sep and scheme.lower() not in DATABASE_SCHEMES:
        raise ConfigError(f"{what}: {scheme}:// is not a database this service uses; "
                          "give a sqlite file path or a postgresql:// URL")  # fmt: skip
    return database


def _key(name: str, value) -> bytes:
    key = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"{ENV_PREFIX}{name.upper()} is {len(key)} bytes; an HS256 key needs at least "
            f"{MIN_KEY_BYTES} random bytes (try: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return key


def load_or_create_secret_key(path: Path) -> bytes:
    """The generated key: 32 random bytes in ``instance/secret_key``, mode 0600.

    Written to a private temporary file and linked into place, so several
    workers starting at once all end up reading the same key.
    """
    try:
        return _key("secret_key", path.read_bytes())
    except FileNotFoundError:
        pass
    except OSError as error:
        raise _key_file_error(path, "cannot read", error) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise _key_file_error(path, "cannot create", error) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(MIN_KEY_BYTES))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker won the race; use its key
    finally:
        tmp.unlink(missing_ok=True)
    return _key("secret_key", path.read_bytes())


def _key_file_error(path: Path, what: str, error: OSError) -> ConfigError:
    return ConfigError(
        f"{what} the generated secret key {os.path.abspath(path)}: {error.strerror or error}; "
        f"set {ENV_PREFIX}SECRET_KEY, or start where instance/ can be written"
    )


def _origins(value) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    origins = []
    for item in items:
        origin = item.strip().rstrip("/")
        if not origin:
            continue
        scheme, sep, rest = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest or "*" in rest:
            raise ConfigError(
                f"{ENV_PREFIX}ALLOWED_ORIGINS: {item.strip()!r} is not an origin like http://localhost:4100"
            )
        origins.append(origin.lower())
    return tuple(origins)


def _access_log(value) -> TextIO | None:
    if value is None or value is False:
        return None
    if value is True:
        return sys.stderr
    if hasattr(value, "write"):
        return value
    return sys.stderr if _bool("access_log", value) else None


def _public_url(value) -> str | None:
    if value in (None, ""):
        return None
    url = urllib.parse.urlsplit(str(value).strip())
    try:
        url.port  # a port that is not a number from 0 to 65535 is a ValueError
    except ValueError:
        url = url._replace(scheme="")
    if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment or "@" in url.netloc:
        raise ConfigError(f"{ENV_PREFIX}PUBLIC_URL must be a URL like https://auth.example.com, not {value!r}")
    return urllib.parse.urlunsplit((url.scheme, url.netloc.lower(), url.path.rstrip("/"), "", ""))


def _public_dir(value) -> str:
    if not os.path.isdir(value):
        raise ConfigError(f"{ENV_PREFIX}PUBLIC_DIR must be a directory (the pages), not {os.path.abspath(value)}")
    return str(value)


def _mail(overrides: dict) -> dict:
    """The public URL, the SMTP server and the sender: the settings of reset links and emails."""
    public_url = _public_url(_env("public_url", overrides, None))
    raw_smtp = _env("smtp_url", overrides, None)
    try:
        smtp = None if raw_smtp in (None, "") else parse_smtp_url(str(raw_smtp))
    except ValueError as error:
        raise ConfigError(f"{ENV_PREFIX}SMTP_URL {error}") from None  # never the URL: it may hold a password
    if smtp is not None and public_url is None:
        # A link in an email must not be built from the request's Host header, which the requester chooses.
        raise ConfigError(f"{ENV_PREFIX}SMTP_URL needs {ENV_PREFIX}PUBLIC_URL: the base URL of the links it sends")
    host = urllib.parse.urlsplit(public_url).hostname if public_url else "localhost"
    mail_from = str(_env("mail_from", overrides, f"wsgi_auth@{host}")).strip()
    if not re.fullmatch(r"[^@\s<>\"]+@[^@\s<>\"]+", mail_from, re.ASCII):
        raise ConfigError(f"{ENV_PREFIX}MAIL_FROM must be an address like wsgi_auth@example.com, not {mail_from!r}")
    return {"public_url": public_url, "smtp": smtp, "mail_from": mail_from}
@dataclasses.dataclass(frozen=True)
class OAuthSettings:
    github_client_id: str | None = None
    github_client_secret: str | None = None
    github_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_name: str = "OpenID Connect"


def _provider_url(name: str, value: str) -> str:
    """An https URL (plain http only for a provider on this machine, as in the tests)."""
    scheme, _, rest = value.partition("://")
    host = rest.split("/")[0].rsplit(":", 1)[0] if rest else ""
    if not host or scheme not in ("http", "https") or (scheme == "http" and host not in ("localhost", "127.0.0.1")):
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be an https:// URL, not {value!r}")
    return value.rstrip("/")


def _oauth_settings(overrides: dict) -> OAuthSettings:
    values = {}
    for field in dataclasses.fields(OAuthSettings):
        value = _env(field.name, overrides, None)
        if value not in (None, ""):
            is_url = field.name.endswith(("_url", "_issuer"))
            values[field.name] = _provider_url(field.name, str(value)) if is_url else str(value)
    settings = OAuthSettings(**values)
    # Half a provider is a mistake to stop at, not a button that fails.
    if bool(settings.github_client_id) != bool(settings.github_client_secret):
        raise ConfigError(f"{ENV_PREFIX}GITHUB_CLIENT_ID and {ENV_PREFIX}GITHUB_CLIENT_SECRET go together")
    if bool(settings.oidc_issuer) != bool(settings.oidc_client_id):
        raise ConfigError(f"{ENV_PREFIX}OIDC_ISSUER and {ENV_PREFIX}OIDC_CLIENT_ID go together")
    return settings


def load_settings(*, key_needed: bool = True, **overrides) -> Settings:
    """Build the settings from ``overrides`` first, then the environment, then the defaults.

    ``key_needed=False`` (CLI commands that sign and seal nothing): without ``WSGI_AUTH_SECRET_KEY`` no
    ``instance/secret_key`` is read or made; the settings hold a random key that is never used.
    """
    overrides = dict(overrides)
    remember_given = {name for name in REMEMBER_LIMITS if name in overrides or os.environ.get(ENV_PREFIX + name.upper())}
    database = check_database(_env("database", overrides, "instance/wsgi_auth.sqlite3"))
    raw_key = _env("secret_key", overrides, None)
    if raw_key not in (None, ""):
        secret_key = _key("secret_key", raw_key)
    elif key_needed:
        secret_key = load_or_create_secret_key(Path("instance") / "secret_key")
    else:
        secret_key = secrets.token_bytes(MIN_KEY_BYTES)
    raw_previous = _env("previous_secret_key", overrides, None)
    previous = None if raw_previous in (None, "") else _key("previous_secret_key", raw_previous)
    log_format = str(_env("log_format", overrides, "text"))
    if log_format not in ("text", "json"):
        raise ConfigError(f"{ENV_PREFIX}LOG_FORMAT must be text or json, not {log_format!r}")
    cookie_name = str(_env("cookie_name", overrides, "jwt_python_flask"))
    if not cookie_name or not all(c.isascii() and (c.isalnum() or c in "_-.") for c in cookie_name):
        raise ConfigError(f"{ENV_PREFIX}COOKIE_NAME must be letters, digits, '_', '-' or '.', not {cookie_name!r}")
    clock = overrides.pop("clock", time.time)
    settings = Settings(
        database=database,
        secret_key=secret_key,
        previous_secret_key=previous,
        allowed_origins=_origins(_env("allowed_origins", overrides, DEFAULT_ALLOWED_ORIGINS)),
        cookie_name=cookie_name,
        cookie_secure=_bool("cookie_secure", _env("cookie_secure", overrides, "1")),
        **_whole_numbers(overrides),
        access_log=_access_log(_env("access_log", overrides, True)),
        log_format=log_format,
        clock=clock,
        public_dir=_public_dir(_env("public_dir", overrides, PUBLIC_DIR)),
        **_mail(overrides),
        oauth=_oauth_settings(overrides),
        # Unset: all the cores (serve.py sets it for its workers, which share them).
        hash_slots=_hash_slots(_env("hash_slots", overrides, None)),
        login_wait=_positive_number("login_wait", _env("login_wait", overrides, 10), 3600),
    )
    if overrides:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(overrides))}")
    _no_unknown_variables()
    return _check_remember(settings, remember_given)


# "Remember me"'s limits and the ordinary ones they replace.
REMEMBER_LIMITS = {"remember_idle": "token_ttl", "remember_max_age": "session_max_age"}


def _check_remember(s: Settings, given: set) -> Settings:
    """"Remember me" keeps a browser signed in longer than an ordinary session, never shorter. A limit left
    at its default follows a longer ordinary one (a TOKEN_TTL of 30 days makes REMEMBER_IDLE 30 days too);
    one given that is shorter than the ordinary limit, or an idle limit given past an absolute one given, is
    refused (a default one gives way to the other)."""
    for name, ordinary in REMEMBER_LIMITS.items():
        if name not in given and getattr(s, name) < getattr(s, ordinary):
            s = dataclasses.replace(s, **{name: getattr(s, ordinary)})
    if s.remember_idle > s.remember_max_age and given != set(REMEMBER_LIMITS):  # the default one gives way
        if "remember_idle" in given:
            s = dataclasses.replace(s, remember_max_age=s.remember_idle)
        else:
            s = dataclasses.replace(s, remember_idle=s.remember_max_age)
    if s.remember_idle > s.remember_max_age:
        raise ConfigError(f"{ENV_PREFIX}REMEMBER_IDLE ({s.remember_idle}) must not exceed "
                          f"{ENV_PREFIX}REMEMBER_MAX_AGE ({s.remember_max_age})")  # fmt: skip
    for name, ordinary in REMEMBER_LIMITS.items():
        if getattr(s, name) < getattr(s, ordinary):
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} ({getattr(s, name)}) must be at least "
                              f"{ENV_PREFIX}{ordinary.upper()} ({getattr(s, ordinary)})")  # fmt: skip
    return s

