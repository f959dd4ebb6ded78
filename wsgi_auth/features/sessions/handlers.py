"""Sessions (ASVS 7.4, 7.5): the signed-in user's browsers, and ending them; an Admin ends a user's.

Ending is at once and everywhere: the session's row is deleted, and every
request is checked against it (middleware/token_required.py).
"""

import re

from ... import validation
from ...http import HTTPError, Request, Response, iso_time
from ..events import events

NO_SESSION = "No such session"
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)  # base64url, as sessions.start makes them


def _shown(row: dict, current_sid: str) -> dict:
    return {
        "id": row["id"],
        "created_at": iso_time(row["created_at"]),
        "last_seen_at": iso_time(row["last_seen_at"]),  # written at renewal: lags by up to half the TTL
        "expires_at": iso_time(row["expires_at"]),  # when it ends unless used (renewed) before
        "user_agent": row["user_agent"],
        "address": row["address"],
        "current": row["id"] == current_sid,
    }


def _ended(count: int, whose: str) -> Response:
    noun = "session" if count == 1 else "sessions"
    return Response.json({"message": f"Ended {count} {noun} {whose}", "data": {"ended": count}})


def list_(request: Request, services) -> Response:
    rows = services.store.list_sessions(request.user["id"], services.clock())
    data = [_shown(row, request.claims["sid"]) for row in rows]
    return Response.json({"message": f"{len(data)} live {'session' if len(data) == 1 else 'sessions'}", "data": data})


def end_one(request: Request, services) -> Response:
    """One of your live sessions; your own is a logout (the cookie is cleared too)."""
    sid = request.params["id"]
    response = Response.no_content()
    if sid == request.claims["sid"]:  # your own: a logout, which is not recorded (ended within the token's leeway too)
        response.headers.append(services.sessions.end(request.user["id"], sid))
        return response
    # Ending another browser's session is recorded.
    event = events.of(request, "sessions_ended", events.ended(1, ""))
    if not SESSION_ID.fullmatch(sid) or not services.store.end_session(sid, request.user["id"], services.clock(), event):
        raise HTTPError(404, NO_SESSION)  # another user's session is "no such session" too
    return response


def end_others(request: Request, services) -> Response:
    """Sign out everywhere else: every session of yours but this one."""
    ended = services.sessions.end_others(request.user["id"], request.claims["sid"], events.of(request, "sessions_ended"))
    return _ended(ended, "of yours besides this one")


def end_users(request: Request, services) -> Response:
    """An Admin ends every session of a user (a stolen laptop, a departure): signed out everywhere at once."""
    user = validation.target_user(request, services)
    return _ended(services.sessions.end_all_by_admin(user["id"]), f"of {user['uid']}")
