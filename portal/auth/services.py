"""Account rules: registration, confirmation, login, password reset, API tokens, roles.

Services flush, never commit; the request (or CLI command) commits once.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from portal import audit, jobs
from portal.admin.schemas import RoleChange
from portal.auth import sessions
from portal.auth.models import ApiToken, Role, User, UserRole, UserSession
from portal.auth.schemas import Credentials, LocaleChoice, PasswordChange, PasswordReset, Registration
from portal.db import record_use_later, utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_user
from portal.urls import external_url

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-for-timing")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "hcp_"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)  # how often a token's last use is recorded


class EmailTaken(Conflict):
    pass


def normalise_email(email: str) -> str:
    """The one form an address is stored, compared and looked up in: NFKC (so a fullwidth
    `ｆｏｕｎｄｅｒ@example.com` is `founder@example.com`), then case-folded, local part and domain."""
    return unicodedata.normalize("NFKC", email or "").strip().casefold()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str, email: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.field("password", _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if normalise_email(password) == normalise_email(email) or password.lower() == email.split("@")[0].lower():
        raise ValidationFailed.field("password", _("The password must not be your email address."))


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def register_user(cmd: Registration) -> User:
    """A new account with the self-service roles chosen (the command allows no other); its owner is
    mailed a confirmation link. A taken address is `EmailTaken` (409)."""
    email = normalise_email(cmd.email)
    check_password_policy(cmd.password, email)
    # Hash first, whether or not the address is taken: the time to answer must not tell.
    password_hash = hash_password(cmd.password)
    if get_user_by_email(email) is not None:
        raise EmailTaken(_("An account with this email already exists."), {"email": [_("already registered")]})
    roles = sorted(set(cmd.roles))
    user = User(email=email, name=cmd.name, password_hash=password_hash, locale=cmd.locale)
    user.role_rows = [UserRole(role=role) for role in roles]
    db.session.add(user)
    db.session.flush()
    audit.record("user.registered", user, after={"email": email, "roles": roles}, actor_id=user.id)
    send_confirmation(user)
    return user


def send_confirmation(user: User) -> None:
    token = _serializer("confirm-email").dumps({"uid": user.id, "email": user.email})
    link = external_url("auth.confirm", token=token)
    send_to_user(user, lambda: (
        _("Confirm your email address"),
        _("Hello %(name)s,\n\nConfirm your email address for Haichuang Portal by opening this link:\n%(link)s\n\n"
          "If you did not register, ignore this mail.", name=user.name, link=link)), kind="account.confirm_email")


def notify_existing_account(email: str) -> None:
    """Someone tried to register an address that already has an account: tell its owner only.

    A background job (see `registration_attempted`)."""
    user = get_user_by_email(email)
    if user is None:
        return
    send_to_user(user, lambda: (
        _("Someone tried to register with your email"),
        _("Hello %(name)s,\n\nSomeone tried to create a new account with this address, which already has one. "
          "If it was you, log in or reset your password:\n%(link)s", name=user.name,
          link=external_url("auth.forgot_password"))), kind="account.registration_attempt")


def registration_attempted(email: str) -> None:
    """The HTML registration found the address taken: queue the note to its owner, which costs
    the request the same as queuing the confirmation mail of a new account."""
    jobs.enqueue("portal.auth.services.notify_existing_account", normalise_email(email))


def confirm_email(token: str) -> User:
    try:
        data = _serializer("confirm-email").loads(token, max_age=current_app.config["CONFIRM_TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise ValidationFailed.field("token", _("This confirmation link has expired. Request a new one.")) from None
    except BadSignature:
        raise ValidationFailed.field("token", _("This confirmation link is not valid.")) from None
    user = db.session.get(User, data.get("uid"))
    if user is None or user.email != data.get("email"):
        raise ValidationFailed.field("token", _("This confirmation link is not valid."))
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
        audit.record("user.email_confirmed", user, actor_id=user.id)
    return user


def authenticate(cmd: Credentials) -> User | None:
    """The active account these credentials open, or None (the same time and answer for an unknown address
    and a wrong password; a wrong password is audited)."""
    user = get_user_by_email(cmd.email)
    try:
        if user is None:
            _hasher.verify(_DUMMY_HASH, cmd.password)
            return None
        _hasher.verify(user.password_hash, cmd.password)
    except (VerificationError, InvalidHashError):
        audit.record("user.login_failed", user, after={"email": normalise_email(cmd.email)})
        return None
    if not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(cmd.password)
    return user


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def start_session(user: User) -> UserSession:
    """A new server-side login (see portal.auth.sessions); the view then calls `login_user`."""
    record = sessions.start_session(user)
    user.last_login_at = utcnow()
    audit.record("user.login", user, actor_id=user.id)
    return record


def end_session() -> None:
    """Log out: the current login is revoked server-side, so its cookies stop working."""
    sessions.end_current_session()


def request_password_reset(email: str) -> None:
    """Queue the reset mail. The request does the same work whether or not the address has an
    account; the job looks it up and mails a link, or nothing. The caller says the same either way."""
    jobs.enqueue("portal.auth.services.send_password_reset", normalise_email(email))


def send_password_reset(email: str) -> None:
    """Background job: mail a reset link if an active account has this address."""
    user = get_user_by_email(email)
    if user is None or not user.is_active:
        return
    token = _serializer("reset-password").dumps({"uid": user.id, "ph": _password_fingerprint(user)})
    link = external_url("auth.reset_password", token=token)
    minutes = current_app.config["RESET_TOKEN_MAX_AGE"] // 60
    send_to_user(user, lambda: (
        _("Reset your password"),
        _("Hello %(name)s,\n\nOpen this link within %(minutes)d minutes to choose a new password:\n%(link)s\n\n"
          "If you did not ask for this, ignore this mail; your password stays the same.",
          name=user.name, minutes=minutes, link=link)), kind="account.password_reset")
    audit.record("user.password_reset_requested", user, actor_id=user.id)


def user_for_reset_token(token: str) -> User:
    invalid = ValidationFailed.field("token", _("This reset link is not valid or has already been used."))
    try:
        data = _serializer("reset-password").loads(token, max_age=current_app.config["RESET_TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise ValidationFailed.field("token", _("This reset link has expired. Request a new one.")) from None
    except BadSignature:
        raise invalid from None
    user = db.session.get(User, data.get("uid"))
    # The fingerprint changes with the password, so a link works only once.
    if user is None or data.get("ph") != _password_fingerprint(user):
        raise invalid
    return user


def set_password(user: User, new_password: str, keep_session: UserSession | None = None) -> tuple[int, int]:
    """Store a new password and end everything the old one opened: every login except
    `keep_session` and every personal API token. Returns (sessions ended, tokens revoked)."""
    user.password_hash = hash_password(new_password)
    ended = sessions.revoke_sessions(user, keep=keep_session)
    tokens = active_tokens(user)
    for token in tokens:
        revoke_api_token(token)
    return ended, len(tokens)


def reset_password(token: str, cmd: PasswordReset) -> User:
    user = user_for_reset_token(token)
    check_password_policy(cmd.password, user.email)
    ended, revoked = set_password(user, cmd.password)
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()  # the link proved control of the mailbox
    audit.record("user.password_reset", user, after={"sessions_ended": ended, "tokens_revoked": revoked},
                 actor_id=user.id)
    return user


def change_password(user: User, cmd: PasswordChange) -> int:
    """Change the password; the caller's own login survives, every other one and every API token
    is revoked. Returns the number of tokens revoked."""
    try:
        _hasher.verify(user.password_hash, cmd.current_password)
    except (VerificationError, InvalidHashError):
        raise ValidationFailed.field("current_password", _("The current password is wrong.")) from None
    check_password_policy(cmd.password, user.email)
    ended, revoked = set_password(user, cmd.password, keep_session=sessions.current_session())
    audit.record("user.password_changed", user, after={"sessions_ended": ended, "tokens_revoked": revoked},
                 actor_id=user.id)
    return revoked


def set_locale(user: User, cmd: LocaleChoice) -> None:
    if cmd.locale not in current_app.config["LANGUAGES"]:  # a deployment may offer fewer languages
        raise ValidationFailed.field("locale", _("Unsupported language."))
    user.locale = cmd.locale


# ---- API tokens ------------------------------------------------------------------------------

def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_api_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """A personal API token named `name` (a `NewToken`/`TokenRequest` name; "API token" when empty).
    Returns the token and its secret, which is shown this once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name or _("API token"), token_hash=_token_digest(raw),
                     prefix=raw[:10])
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.created", token, after={"name": token.name, "prefix": token.prefix}, actor_id=user.id)
    return token, raw


def revoke_api_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("api_token.revoked", token, before={"name": token.name, "prefix": token.prefix})


def user_for_token(raw: str) -> User | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(raw)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    # At most once a minute, and never inside this request's (read) transaction.
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        record_use_later(ApiToken, token.id, "last_used_at", now, TOKEN_TOUCH_INTERVAL)
    return token.user


def active_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)))


# ---- roles and admins ------------------------------------------------------------------------

def grant_role(user: User, role: str) -> None:
    if role not in Role.values():
        raise ValidationFailed.field("role", _("Unknown role: %(role)s", role=role))
    if not user.has_role(role):
        user.role_rows.append(UserRole(role=role))
        db.session.flush()
        audit.record("user.role_granted", user, after={"role": role})


def revoke_role(user: User, role: str, actor: User) -> None:
    if role == Role.ADMIN and user.id == actor.id:
        raise Conflict(_("You cannot remove your own admin role."))
    for row in list(user.role_rows):
        if row.role == role:
            user.role_rows.remove(row)
            db.session.flush()
            audit.record("user.role_revoked", user, before={"role": role})


def change_role(user: User, cmd: RoleChange, actor: User) -> None:
    """An admin grants or revokes one role."""
    if cmd.action == "grant":
        grant_role(user, cmd.role)
    else:
        revoke_role(user, cmd.role, actor)


def set_active(user: User, active: bool, actor: User) -> None:
    if user.id == actor.id and not active:
        raise Conflict(_("You cannot deactivate your own account."))
    if user.is_active_account != active:
        user.is_active_account = active
        audit.record("user.activated" if active else "user.deactivated", user)


def create_admin(email: str, password: str, name: str | None = None) -> User:
    email = normalise_email(email)
    user = get_user_by_email(email)
    if user is None:
        check_password_policy(password, email)
        user = User(email=email, name=name or email.split("@")[0], password_hash=hash_password(password),
                    confirmed_at=utcnow())
        db.session.add(user)
        db.session.flush()
        audit.record("user.registered", user, after={"email": email, "roles": [Role.ADMIN]}, actor_id=user.id)
    else:
        check_password_policy(password, email)
        set_password(user, password)
    grant_role(user, Role.ADMIN)
    return user


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0
