"""Outgoing mail: always sent after commit through the job system.

With `MAIL_SERVER` set, mail goes over SMTP; otherwise it is written to the log (the quickstart),
and under tests it is collected in `app.extensions["mail_outbox"]`.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterable
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale

from portal import jobs

log = logging.getLogger("portal.mail")


def send_mail(to: str, subject: str, body: str) -> None:
    if current_app.config.get("MAIL_SUPPRESS"):
        return  # e.g. while seeding demo data: its story sends mails nobody should receive
    jobs.enqueue("portal.mail.deliver", to, str(subject), str(body))


Build = Callable[[], tuple[str, str]]


def send_to_user(user, build: Build) -> None:
    """The one way a service mails a person: `build()` -> (subject, body) runs under the recipient's own
    language (`user.locale`), so every translated word of the mail is in their language; the mail leaves
    after the commit. `user` is anything with `email` and `locale` (a User, or an invited address)."""
    if user is None or not getattr(user, "email", None):
        return
    with force_locale(getattr(user, "locale", None) or "en"):
        subject, body = build()
        send_mail(user.email, str(subject), str(body))


def send_to_users(people: Iterable, build: Build) -> None:
    """`send_to_user` for each person; an address gets one mail even when listed twice."""
    seen: set[str] = set()
    for person in people:
        if person is None or person.email in seen:
            continue
        seen.add(person.email)
        send_to_user(person, build)


mail_each = send_to_users  # the earlier name


def deliver(to: str, subject: str, body: str) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if config.get("TESTING"):
        current_app.extensions.setdefault("mail_outbox", []).append(message)
        return
    if not config.get("MAIL_SERVER"):
        log.info("mail (no MAIL_SERVER set, not sent)\nTo: %s\nSubject: %s\n\n%s", to, subject, body)
        return
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
    log.info("mail sent to %s: %s", to, subject)
