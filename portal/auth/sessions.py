"""Server-side logins behind Flask-Login.

Logging in creates a `UserSession` row and puts a random key in the signed session cookie (and in
the remember-me cookie when asked). The user loader accepts a cookie only while its row exists,
is not revoked and is younger than `SESSION_MAX_AGE`, so a cookie captured before logout, or
before a password change, stops working. Bearer-token API requests never touch this.

Services flush, never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import delete, or_, select, update

from portal import jobs
from portal.auth.models import User, UserSession
from portal.db import record_use_later, utcnow
from portal.extensions import db

# Record activity at most this often: a write per request would cost more than the lookup.
TOUCH_INTERVAL = timedelta(minutes=5)
# Revoked and expired logins are kept this long (for "where was I logged in" questions), then deleted.
KEEP_ENDED = timedelta(days=90)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def start_session(user: User) -> UserSession:
    """A new login for `user`; `user.get_id()` then returns its key for Flask-Login's cookies."""
    key = secrets.token_urlsafe(32)
    record = UserSession(user_id=user.id, key_hash=_digest(key), created_at=utcnow(), last_seen_at=utcnow())
    if has_request_context():
        record.user_agent = (request.user_agent.string or "")[:255] or None
        record.ip_address = (request.remote_addr or "")[:45] or None
    db.session.add(record)
    db.session.flush()
    user.session_key = key
    g.user_session = record
    return record


def load_user(key: str) -> User | None:
    """Flask-Login's user loader: one indexed lookup (the session row joined to its user)."""
    if not key or len(key) > 128:
        return None
    record = db.session.scalar(select(UserSession).where(UserSession.key_hash == _digest(key)))
    if record is None or record.revoked_at is not None or not record.user.is_active:
        return None
    now = utcnow()
    if now - record.created_at > current_app.config["SESSION_MAX_AGE"]:
        return None
    if now - record.last_seen_at > TOUCH_INTERVAL:  # written after the request's transaction, if not busy
        record_use_later(UserSession, record.id, "last_seen_at", now, TOUCH_INTERVAL)
    record.user.session_key = key
    g.user_session = record
    return record.user


def current_session() -> UserSession | None:
    """The login the current request runs under (None for bearer tokens and anonymous users)."""
    if not has_request_context():
        return None
    if not current_user.is_authenticated:  # also makes Flask-Login run the user loader, once
        return None
    return g.get("user_session")


def end_current_session() -> None:
    record = current_session()
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
    g.pop("user_session", None)


def revoke_sessions(user: User, keep: UserSession | None = None) -> int:
    """Revoke every open login of `user` except `keep`; returns how many were ended."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    result = db.session.execute(query.values(revoked_at=utcnow()).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def purge_ended_sessions() -> int:
    """Periodic job: delete logins that ended (revoked or expired) more than KEEP_ENDED ago."""
    now = utcnow()
    expired_before = now - current_app.config["SESSION_MAX_AGE"] - KEEP_ENDED
    result = db.session.execute(delete(UserSession).where(or_(
        UserSession.revoked_at < now - KEEP_ENDED, UserSession.created_at < expired_before)))
    return result.rowcount or 0


jobs.register_periodic("auth.purge_sessions", "portal.auth.sessions.purge_ended_sessions", 24 * 3600)
