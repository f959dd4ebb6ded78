"""Security activity: ``GET /api/user/events`` (your own) and ``GET /api/users/<uid>/events`` (an Admin's view).

Newest first, a page at a time, only the last 90 days (events.py; the store writes each
event with the change it records). See docs/SESSIONS.md, "Security activity".
"""

from ... import validation
from ...http import Request, Response, iso_time
from . import events


def _shown(row: dict) -> dict:
    return {"id": row["id"], "type": row["type"], "at": iso_time(row["at"]), "address": row["address"],
            "user_agent": row["user_agent"], "detail": row["detail"]}  # fmt: skip


def _page(request: Request, services, user: dict) -> Response:
    page = validation.positive_int(request, "page", 1)
    per_page = min(validation.positive_int(request, "per_page", validation.DEFAULT_PER_PAGE), validation.MAX_PER_PAGE)
    rows, total = services.store.list_events(user["id"], services.clock() - events.RETENTION, per_page, (page - 1) * per_page)
    noun = "event" if total == 1 else "events"
    return Response.json({"message": f"{len(rows)} of {total} security {noun} of {user['uid']}",
                          "data": [_shown(row) for row in rows], "page": page, "per_page": per_page, "total": total})


def mine(request: Request, services) -> Response:
    return _page(request, services, request.user)


def of_user(request: Request, services) -> Response:
    return _page(request, services, validation.target_user(request, services))
