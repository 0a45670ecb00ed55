"""Outgoing mail and in-app notifications: always sent after commit through the job system.

With `MAIL_SERVER` set, mail goes over SMTP; otherwise it is written to the log (the quickstart),
and under tests it is collected in `app.extensions["mail_outbox"]`.

`send_to_user(user, build, kind=...)` is the one way a service tells a person something. `kind` is a key of
`portal.notifications.kinds` (e.g. "pledge.receipt"): it decides the person's preference that applies, the
in-app notification written in the same transaction, and the one-click unsubscribe link (RFC 8058
`List-Unsubscribe` and `List-Unsubscribe-Post` headers) of every mail that can be switched off.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import jobs

log = logging.getLogger("portal.mail")


# The headers of the mail `send_to_user` is sending (List-Unsubscribe...), read by `send_mail`: set around the
# call, so that `send_mail(to, subject, body)` keeps its signature for callers and test spies that wrap it.
_HEADERS: ContextVar[dict[str, str] | None] = ContextVar("portal_mail_headers", default=None)


def send_mail(to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> None:
    """Queue one mail (after the commit, `deliver` builds and sends it, headers included)."""
    headers = headers if headers is not None else _HEADERS.get()
    if current_app.config.get("MAIL_SUPPRESS"):
        return  # e.g. while seeding demo data: its story sends mails nobody should receive
    if headers:
        jobs.enqueue("portal.mail.deliver", to, str(subject), str(body), {k: str(v) for k, v in headers.items()})
    else:
        jobs.enqueue("portal.mail.deliver", to, str(subject), str(body))


Build = Callable[[], tuple[str, str]]


def _account_of(person):
    """The User behind `person` (a User, or an invited address that has an account), or None."""
    from portal.auth.models import User

    if isinstance(person, User):
        return person if person.id is not None else None
    account = getattr(person, "user", None)
    return account if isinstance(account, User) and account.id is not None else None


def send_to_user(user, build: Build, kind: str = "general", link: str | None = None, *,
                 _preferences: dict | None = None) -> None:
    """The one way a service mails a person: `build()` -> (subject, body) runs under the recipient's own
    language (`user.locale`), so every translated word of the mail is in their language; the mail leaves
    after the commit. `user` is anything with `email` and `locale` (a User, or an invited address).

    `kind`: the notification kind (portal.notifications.kinds). People with an account also get an in-app
    notification (title = subject, a short body, `link` or else the body's first portal link), unless they
    switched it off for this kind; likewise the mail. Mails of kinds that can be switched off carry a signed
    unsubscribe link and the List-Unsubscribe headers."""
    from portal.notifications import services as notifications
    from portal.notifications.kinds import get_kind

    what = get_kind(kind)
    if user is None:
        return
    account = _account_of(user)
    stored = None
    if account is not None:
        stored = (_preferences.get(account.id) if _preferences is not None
                  else notifications.preferences_of([account.id], kind).get(account.id))
    choice = notifications.effective(what, stored)
    email = getattr(user, "email", None)
    wants_mail = choice.mail and bool(email)
    wants_in_app = choice.in_app and account is not None
    if not (wants_mail or wants_in_app):
        return
    with force_locale(getattr(user, "locale", None) or "en"):
        subject, body = build()
        subject, body = str(subject), str(body)
        if wants_in_app:
            notifications.deliver_in_app(account.id, kind, subject, body, notifications.local_link(link, body))
        if wants_mail:
            footer, headers = _footer(what, account)
            token = _HEADERS.set(headers)
            try:
                send_mail(email, subject, body + footer)
            finally:
                _HEADERS.reset(token)


def _footer(kind, account) -> tuple[str, dict[str, str]]:
    """The mail's last lines (in the current language) and its List-Unsubscribe headers."""
    from portal.notifications.services import unsubscribe_token
    from portal.urls import external_url

    if kind.required:
        return "\n\n-- \n" + _("This mail concerns your account or a membership, so it is always sent."), {}
    if account is None:
        return "", {}
    unsubscribe = external_url("notifications.unsubscribe", token=unsubscribe_token(account.id, kind.key))
    lines = [_("You receive this mail for: %(kind)s.", kind=str(kind.label)),
             _("Unsubscribe from these mails: %(link)s", link=unsubscribe),
             _("All your notification settings: %(link)s", link=external_url("notifications.preferences"))]
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return "\n\n-- \n" + "\n".join(lines), headers


def send_to_users(people: Iterable, build: Build, kind: str = "general", link: str | None = None) -> None:
    """`send_to_user` for each person; an address gets one mail even when listed twice. The preferences
    of all of them are read in one query."""
    from portal.notifications.services import preferences_of

    unique, seen = [], set()
    for person in people:
        if person is None or person.email in seen:
            continue
        seen.add(person.email)
        unique.append(person)
    accounts = [_account_of(person) for person in unique]
    preferences = preferences_of([a.id for a in accounts if a is not None], kind)
    for person in unique:
        send_to_user(person, build, kind, link, _preferences=preferences)


mail_each = send_to_users  # the earlier name


def deliver(to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if config.get("TESTING"):
        current_app.extensions.setdefault("mail_outbox", []).append(message)
        return
    if not config.get("MAIL_SERVER"):
        log.info("mail (no MAIL_SERVER set, not sent)\nTo: %s\nSubject: %s\n%s\n%s", to, subject,
                 "".join(f"{name}: {value}\n" for name, value in (headers or {}).items()), body)
        return
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
    log.info("mail sent to %s: %s", to, subject)
