"""The notification centre over the API: the caller's notices (paged, newest first) and read marks."""

from __future__ import annotations

from datetime import datetime

from flask import jsonify
from flask_login import current_user
from pydantic import Field

from portal.api import api_blueprint, doc, iso, paginate, read_query, require_login
from portal.notifications import services
from portal.notifications.kinds import kind_label
from portal.notifications.models import Notification
from portal.permissions import Permission, load
from portal.schemas import Out, Query

bp = api_blueprint("notifications_api", __name__)


class NotificationQuery(Query):
    unread: bool = Field(False, description="true: only notices not read yet")


class NotificationOut(Out):
    id: int
    kind: str = Field(description="a stable key, e.g. pledge.receipt")
    kind_label: str = Field(description="the kind in the caller's language")
    title: str
    body: str
    link: str = Field(description="the portal path of the object, or empty")
    created_at: datetime
    read_at: datetime | None


class MarkedOut(Out):
    marked: int
    unread: int


def notification_json(notification: Notification) -> dict:
    return {"id": notification.id, "kind": notification.kind, "kind_label": kind_label(notification.kind),
            "title": notification.title, "body": notification.body, "link": notification.link,
            "created_at": iso(notification.created_at), "read_at": iso(notification.read_at)}


@bp.get("/notifications")
@doc("The caller's notifications, newest first; `unread` counts all not read yet", query=NotificationQuery,
     response=NotificationOut)
def notification_list():
    require_login()
    args = read_query(NotificationQuery)
    page = paginate(services.notifications_stmt(current_user, unread_only=args.unread), notification_json)
    page["unread"] = services.unread_count(current_user)
    return jsonify(page)


@bp.post("/notifications/<int:notification_id>/read")
@doc("Mark one of the caller's notifications read", response=NotificationOut)
def notification_read(notification_id: int):
    require_login()
    notification = services.mark_read(load(Notification, notification_id, Permission.EDIT))
    return jsonify(notification_json(notification))


@bp.post("/notifications/read")
@doc("Mark all the caller's notifications read", response=MarkedOut)
def notification_read_all():
    require_login()
    marked = services.mark_all_read(current_user)
    return jsonify({"marked": marked, "unread": services.unread_count(current_user)})
