"""Notification rules: who gets what (per-kind preferences), the centre's pages, read marks, unsubscribing.

Functions flush and never commit. `portal.mail.send_to_user` calls `deliver_in_app` in the caller's
transaction, so a notification exists exactly when the change it tells about was committed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from portal import jobs
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.notifications.kinds import KINDS, Kind, get_kind
from portal.notifications.models import Notification, NotificationOnce, NotificationPreference
from portal.paging import ListPage

PER_PAGE = 20
BODY_CHARS = 280
UNSUBSCRIBE_SALT = "notifications.unsubscribe"


# ---- preferences ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    mail: bool
    in_app: bool


def preferences_of(user_ids: Iterable[int], kind: str) -> dict[int, Choice]:
    """The stored choices of these people for `kind` (one query); absent people have everything on."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    rows = db.session.scalars(select(NotificationPreference).where(
        NotificationPreference.kind == kind, NotificationPreference.user_id.in_(ids)))
    return {row.user_id: Choice(row.mail, row.in_app) for row in rows}


def effective(kind: Kind, stored: Choice | None) -> Choice:
    """What a person gets for `kind`: required kinds are always mailed; in-app only for kinds shown there."""
    mail = True if kind.required or stored is None else stored.mail
    in_app = kind.in_app and (True if stored is None else stored.in_app)
    return Choice(mail, in_app)


def all_preferences(user) -> dict[str, Choice]:
    """Every kind's effective choice for `user` (the preferences page)."""
    stored = {row.kind: Choice(row.mail, row.in_app) for row in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    return {key: effective(kind, stored.get(key)) for key, kind in KINDS.items()}


def set_preference(user, kind_key: str, *, mail: bool | None = None, in_app: bool | None = None) -> None:
    """Store one choice. Required kinds cannot be switched off by mail (refused, not ignored)."""
    kind = get_kind(kind_key)
    if kind.required and mail is False:
        raise ValidationFailed.field(kind_key, _required_message())
    row = db.session.scalar(select(NotificationPreference).where(
        NotificationPreference.user_id == user.id, NotificationPreference.kind == kind_key))
    if row is None:
        row = NotificationPreference(user_id=user.id, kind=kind_key, mail=True, in_app=True)
        db.session.add(row)
    if mail is not None:
        row.mail = mail
    if in_app is not None:
        row.in_app = in_app
    row.updated_at = utcnow()
    db.session.flush()


def save_preferences(user, choices: dict[str, Choice]) -> None:
    """The preferences form: one choice per kind; required kinds keep their mail on."""
    for key, kind in KINDS.items():
        choice = choices.get(key)
        if choice is None:
            continue
        set_preference(user, key, mail=None if kind.required else choice.mail,
                       in_app=choice.in_app if kind.in_app else None)


def _required_message() -> str:
    from flask_babel import gettext as _

    return _("Mails about your account's security and memberships cannot be switched off.")


# ---- in-app notifications ------------------------------------------------------------------------

_URL = re.compile(r"https?://\S+")


def short_body(body: str) -> str:
    """The mail's text without its greeting, links and footer, on one paragraph, at most BODY_CHARS."""
    lines = [line.strip() for line in str(body).splitlines()]
    if lines and len(lines[0]) <= 80 and lines[0].endswith((",", "，")):
        lines = lines[1:]  # "Hello Ana," / "您好 Ana，"
    text = " ".join(line for line in (_URL.sub("", line).strip() for line in lines) if line)
    text = re.sub(r"\s+", " ", text).strip(" :：")
    return text if len(text) <= BODY_CHARS else text[:BODY_CHARS - 1].rstrip() + "…"


def local_link(url: str | None, body: str = "") -> str:
    """A path of the portal for the notification's link: `url`, or else the first link of the portal in
    the body; "" when there is none. Paths survive a change of PUBLIC_BASE_URL (another port)."""
    base = current_app.config["PUBLIC_BASE_URL"]
    candidates = [url] if url else [m.group(0).rstrip(".,;)") for m in _URL.finditer(str(body))]
    for candidate in candidates:
        if candidate.startswith("/") and not candidate.startswith("//"):
            return candidate[:500]
        if candidate.startswith(base + "/"):
            return candidate[len(base):][:500]
    return ""


def deliver_in_app(user_id: int, kind: str, title: str, body: str, link: str = "") -> Notification:
    notification = Notification(user_id=user_id, kind=kind, title=str(title)[:300], body=short_body(body),
                                link=link, created_at=utcnow())
    db.session.add(notification)
    return notification


def unread_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


Page = ListPage  # one page of notifications (portal.paging)


def notifications_stmt(user, unread_only: bool = False):
    """The person's notifications, newest first (the API pages it)."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def page_of(user, page: int = 1, per_page: int = PER_PAGE, unread_only: bool = False) -> Page:
    """One page of the person's notifications, newest first, paged in the database."""
    where = [Notification.user_id == user.id]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    page = max(1, min(int(page or 1), max(1, -(-total // per_page))))
    items = list(db.session.scalars(select(Notification).where(*where)
                                    .order_by(Notification.created_at.desc(), Notification.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)))
    return Page(items, page, per_page, total)


def mark_read(notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(user) -> int:
    result = db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()), execution_options={"synchronize_session": False})
    return result.rowcount or 0


def first_time(key: str) -> bool:
    """True once per `key`, ever: marks it (in a savepoint, so a concurrent runner's mark makes this False)."""
    if db.session.scalar(select(NotificationOnce.id).where(NotificationOnce.key == key)) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(NotificationOnce(key=key[:120], created_at=utcnow()))
    except IntegrityError:
        return False
    return True


# Read notices are kept this long, unread ones longer; "once" marks outlive what they guard (a reminder
# is due within a day).
KEEP_READ_DAYS = 180
KEEP_UNREAD_DAYS = 365
KEEP_ONCE_DAYS = 30


def purge_old(now=None) -> int:
    """The periodic job: delete old notices (read after KEEP_READ_DAYS, any after KEEP_UNREAD_DAYS) and old
    once-marks. Returns how many notices went."""
    now = now or utcnow()
    gone = db.session.execute(delete(Notification).where(
        (Notification.created_at < now - timedelta(days=KEEP_UNREAD_DAYS))
        | (Notification.read_at.is_not(None) & (Notification.created_at < now - timedelta(days=KEEP_READ_DAYS)))),
        execution_options={"synchronize_session": False}).rowcount or 0
    db.session.execute(delete(NotificationOnce).where(NotificationOnce.created_at < now - timedelta(days=KEEP_ONCE_DAYS)),
                       execution_options={"synchronize_session": False})
    return gone


jobs.register_periodic("notifications.purge", "portal.notifications.services.purge_old", 24 * 3600)


# ---- unsubscribing -------------------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, kind: str) -> str:
    return _serializer().dumps({"u": user_id, "k": kind})


def unsubscribe_target(token: str):
    """(user, kind) a signed unsubscribe link stands for; a bad or forged link is a 400 naming the problem."""
    from flask_babel import gettext as _

    from portal.auth.models import User

    try:
        data = _serializer().loads(token)
    except BadSignature:
        raise ValidationFailed.field("token", _("This unsubscribe link is not valid.")) from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    kind = KINDS.get(data.get("k")) if isinstance(data, dict) else None
    if user is None or kind is None or kind.required:
        raise ValidationFailed.field("token", _("This unsubscribe link is not valid."))
    return user, kind


def unsubscribe(token: str):
    """One click: no more mails of this kind for this person (in-app notices stay as they were)."""
    user, kind = unsubscribe_target(token)
    set_preference(user, kind.key, mail=False)
    from portal import audit

    audit.record("notifications.unsubscribed", user, after={"kind": kind.key}, actor_id=user.id)
    return user, kind
