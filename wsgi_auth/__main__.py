"""The admin command line: ``python -m wsgi_auth user add|list|set-role|set-password|reset-link|totp-off|verify-email|delete``,
``db copy|reseal-totp``.

Settings come from the same ``WSGI_AUTH_*`` variables as the service, so the
command works on the service's database (``--database`` names another). Every
command first says on stdout which database it uses. Exit status 0 on success;
otherwise a one-line message on stderr and a non-zero status.
"""

import argparse
import getpass
import json
import sqlite3
import sys

from . import passwords, validation
from .config import ConfigError, check_database, database_label, load_settings
from .features.events import events
from .features.mfa import totp
from .features.reset.handlers import new_link
from .http import HTTPError, iso_time
from .store import COPIED_TABLES, SQLStore, StoreUnavailable, open_store

DEFAULT_PUBLIC_URL = "http://localhost:8587"  # serve.py's address, when WSGI_AUTH_PUBLIC_URL is not set
OPERATOR = "by an operator (command line)"  # the detail of the security events a command records


class CommandError(Exception):
    """A one-line message for stderr, with exit status 1."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (exit status 2), as for every other error."""

    def error(self, message):
        self.exit(2, f"error: {message} (try: {self.prog} --help)\n")


def read_password(uid: str, prompt: str = "Password: ") -> str:
    """From stdin when it is not a terminal (scripts, pipes), else prompted twice; a new password, so
    neither a common one nor one containing the uid (as at signup)."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = getpass.getpass(prompt)
            repeated = getpass.getpass("Repeat password: ")
        except EOFError:  # Ctrl-D at the prompt
            raise CommandError("no password given") from None
        if repeated != password:
            raise CommandError("the two passwords differ")
    try:
        return validation.new_password({"password": password}, uid)
    except HTTPError as error:
        raise CommandError(error.message) from None


def checked(check, field: str, value):
    try:
        return check({field: value})
    except HTTPError as error:
        raise CommandError(error.message) from None


def cmd_add(store: SQLStore, settings, args) -> str:
    uid = checked(validation.uid, "uid", args.uid)
    name = checked(validation.name, "name", args.name)
    email = checked(validation.email, "email", args.email)
    role = checked(validation.role, "role", args.role)
    password = read_password(uid)
    user = store.create_user(uid, name, email, passwords.hash_password(password, settings.bcrypt_rounds), settings.clock(), role)
    if user is None:
        raise CommandError(f"uid {uid} is already taken")
    return f"added {user['uid']} ({user['role']}, id {user['id']})"


def cmd_list(store: SQLStore, settings, args) -> str:
    users, _ = store.list_users(10**9, 0)
    if args.json:  # the database too, so that the output stays one JSON document
        return json.dumps({"database": database_label(settings.database), "users": users}, indent=2)
    lines = [f"{'uid':<39}  {'role':<5}  {'name'}"]
    lines += [f"{u['uid']:<39}  {u['role']:<5}  {u['name']}" for u in users]
    return "\n".join(lines)


def cmd_set_role(store: SQLStore, settings, args) -> str:
    role = checked(validation.role, "role", args.role)
    if not store.set_role(args.uid, role):
        raise CommandError(f"no user {args.uid}")
    return f"{args.uid} is now {role}"


def cmd_set_password(store: SQLStore, settings, args) -> str:
    user = store.user(args.uid)
    if user is None:
        raise CommandError(f"no user {args.uid}")
    password = read_password(user["uid"], "New password: ")
    store.set_password(user["id"], passwords.hash_password(password, settings.bcrypt_rounds),
                       event=events.by_operator("password_changed", OPERATOR), now=settings.clock())  # fmt: skip
    return f"password of {user['uid']} changed; every token issued before is revoked"


def cmd_reset_link(store: SQLStore, settings, args) -> str:
    user = store.user(args.uid)
    if user is None:
        raise CommandError(f"no user {args.uid}")
    now = settings.clock()
    url, token_hash, expires_at = new_link(settings.public_url or DEFAULT_PUBLIC_URL, now, settings.reset_ttl)
    store.store_reset_link(user["id"], token_hash, expires_at, now)
    return f"one-time reset link for {user['uid']}, until {iso_time(expires_at)} (any older one no longer works):\n{url}"


def cmd_totp_off(store: SQLStore, settings, args) -> str:
    """For a user who lost both the authenticator app and the recovery codes (after checking who asks)."""
    user = store.user(args.uid)
    if user is None:
        raise CommandError(f"no user {args.uid}")
    if not store.mfa_status(user["id"])[0]:
        raise CommandError(f"{user['uid']} has no two-factor authentication on")
    store.delete_second_factors(user["id"], events.by_operator("totp_off", OPERATOR), settings.clock())
    ended = store.end_sessions(user["id"], settings.clock())
    return f"two-factor authentication of {user['uid']} is off; {ended} sessions ended"


def cmd_reseal_totp(store: SQLStore, settings, args) -> str:
    """After a key rotation: every TOTP secret sealed with the current key, so the previous one can go."""
    keys = totp.cipher_keys(settings.secret_key, settings.previous_secret_key)
    resealed = current = unreadable = 0
    for row in store.totp_secrets():
        opened = totp.decrypt(keys, row["secret"], row["uid"])
        if opened is None:
            unreadable += 1
        elif opened[1]:
            current += 1
        elif store.reseal_totp(row["user_id"], row["secret"], totp.encrypt(keys, opened[0], row["uid"])):
            resealed += 1
    note = "; their owners need a recovery code" if unreadable else ""
    return f"TOTP secrets: {resealed} sealed again with the current key, {current} already were, " \
           f"{unreadable} open with neither key{note}"


VERIFY_OUTCOMES = {
    "verified": "verified", "already": "verified already", "no email": "skipped: no email address",
    "taken": "skipped: another account has verified this address", "missing": "skipped: no such user",
}  # fmt: skip


def cmd_verify_email(store: SQLStore, settings, args) -> str:
    """Mark addresses verified without a link (accounts from before verification, addresses the operator
    knows): the uids named, or with ``--all`` every account with an unverified address. An address another
    account has verified is skipped (the first account in id order wins with --all)."""
    if args.all == bool(args.uids):
        raise CommandError("name the uids whose addresses to mark verified, or give --all (not both)")
    uids = store.uids_with_unverified_email() if args.all else args.uids
    outcomes = [(uid, store.mark_verified(uid)) for uid in uids]
    lines = [f"{uid}: {VERIFY_OUTCOMES[outcome]}" for uid, outcome in outcomes]
    done = sum(1 for _, outcome in outcomes if outcome == "verified")
    lines.append(f"{done} address(es) marked verified, {len(outcomes) - done} not")
    if not args.all and any(outcome in ("missing", "no email", "taken") for _, outcome in outcomes):
        print("\n".join(lines))
        raise CommandError("some addresses were not marked verified (see above)")
    return "\n".join(lines)


def cmd_delete(store: SQLStore, settings, args) -> str:
    if not store.delete_user(args.uid, events.by_operator("account_deleted", OPERATOR), settings.clock()):
        raise CommandError(f"no user {args.uid}")
    return f"deleted {args.uid}; their tokens stop working at once"


def cmd_db_copy(args) -> str:
    """Every account and all live state (sessions, throttle windows) from SOURCE to TARGET."""
    check_database(args.source, "SOURCE"), check_database(args.target, "TARGET")
    source, target = open_store(args.source), open_store(args.target)
    try:
        if target.has_users():
            raise CommandError(f"{database_label(args.target)} already has users; copy only into an empty database")
        tables = {table: source.dump(table) for table in COPIED_TABLES}
        target.load(tables)
    finally:
        source.close()
        target.close()
    counts = ", ".join(f"{len(rows)} {table}" for table, rows in tables.items())
    return f"copied {database_label(args.source)} to {database_label(args.target)}: {counts}"


def build_parser() -> argparse.ArgumentParser:
    # --database before or after the command: "--database X user list" or "user list --database X".
    database = Parser(add_help=False)
    database.add_argument(
        "--database", metavar="URL_OR_PATH", default=argparse.SUPPRESS,
        help="the database to use (default: WSGI_AUTH_DATABASE, "
        "else instance/wsgi_auth.sqlite3 in the working directory)",
    )
    parser = Parser(prog="python -m wsgi_auth", description="Manage wsgi_auth users.", parents=[database])
    groups = parser.add_subparsers(dest="group", required=True, metavar="{user,db}")
    user = groups.add_parser(
        "user", help="manage users", description="Manage users in the service's database.", parents=[database]
    )
    commands = user.add_subparsers(dest="command", required=True,
                                   metavar="{add,list,set-role,set-password,reset-link,totp-off,verify-email,delete}")
    add = commands.add_parser("add", help="add a user (password from stdin, or prompted twice)", parents=[database])
    add.add_argument("uid")
    add.add_argument("--name", required=True)
    add.add_argument("--email")
    add.add_argument("--role", default="User", help="User (default) or Admin")
    add.set_defaults(run=cmd_add)

    list_ = commands.add_parser("list", help="list users", parents=[database])
    list_.add_argument("--json", action="store_true", help="print JSON")
    list_.set_defaults(run=cmd_list)

    set_role = commands.add_parser("set-role", help="make a user an Admin or a User", parents=[database])
    set_role.add_argument("uid")
    set_role.add_argument("role", help="User or Admin")
    set_role.set_defaults(run=cmd_set_role)

    set_password = commands.add_parser(
        "set-password", help="set a user's password (revokes their tokens)", parents=[database]
    )
    set_password.add_argument("uid")
    set_password.set_defaults(run=cmd_set_password)

    reset_link = commands.add_parser("reset-link", help="print a one-time password reset link for a user",
                                     parents=[database])  # fmt: skip
    reset_link.add_argument("uid")
    reset_link.set_defaults(run=cmd_reset_link)

    totp_off = commands.add_parser("totp-off", help="turn a user's two-factor authentication off (ends their sessions)",
                                   parents=[database])  # fmt: skip
    totp_off.add_argument("uid")
    totp_off.set_defaults(run=cmd_totp_off)

    verify_email = commands.add_parser(
        "verify-email", help="mark users' email addresses verified (the uids named, or --all)", parents=[database],
        description="Mark addresses verified without sending a link: for accounts made before addresses were "
        "verified, or addresses you know. An address another account has verified is skipped.")  # fmt: skip
    verify_email.add_argument("uids", nargs="*", metavar="UID")
    verify_email.add_argument("--all", action="store_true", help="every account with an unverified address")
    verify_email.set_defaults(run=cmd_verify_email)

    delete = commands.add_parser("delete", help="delete a user", parents=[database])
    delete.add_argument("uid")
    delete.set_defaults(run=cmd_delete)

    db = groups.add_parser("db", help="move the database", description="Copy between databases.")
    db_commands = db.add_subparsers(dest="command", required=True, metavar="{copy,reseal-totp}")
    copy = db_commands.add_parser("copy", help="copy every account and all live state into an empty database",
                                  description="SOURCE and TARGET: a sqlite file path or a postgresql:// URL.")
    copy.add_argument("source")
    copy.add_argument("target")
    copy.set_defaults(run=cmd_db_copy, standalone=True)
    reseal = db_commands.add_parser(
        "reseal-totp", help="seal every TOTP secret with the current key (after a key rotation)", parents=[database],
        description="Run with WSGI_AUTH_SECRET_KEY (new) and WSGI_AUTH_PREVIOUS_SECRET_KEY (old) set; afterwards "
        "the previous key is no longer needed for TOTP.")  # fmt: skip
    reseal.set_defaults(run=cmd_reseal_totp, key_needed=True)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides = {"database": check_database(args.database, "--database")} if "database" in args else {}
        if getattr(args, "standalone", False):  # names its own databases
            print(f"databases: {database_label(args.source)} -> {database_label(args.target)}", flush=True)
            print(args.run(args))
            return 0
        # Only reseal-totp uses the secret key: the others make no instance/secret_key where they run.
        settings = load_settings(access_log=False, key_needed=getattr(args, "key_needed", False), **overrides)
        if not (args.run is cmd_list and args.json):
            print(f"database: {database_label(settings.database)}", flush=True)
        store = open_store(settings.database)
        print(args.run(store, settings, args))
    except (CommandError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (sqlite3.Error, OSError) as error:  # e.g. a database path that cannot be created or read
        print(f"error: database: {error}", file=sys.stderr)
        return 1
    except StoreUnavailable as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except EOFError:
        print("error: end of input", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
