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


def mail_each(people: Iterable, build: Callable[[], tuple[str, str]]) -> None:
    """One mail per person (anything with `email` and `locale`), each built by `build()` -> (subject, body)
    under that person's own language; an address appears once."""
    seen: set[str] = set()
    for person in people:
        if person.email in seen:
            continue
        seen.add(person.email)
        with force_locale(getattr(person, "locale", None) or "en"):
            subject, body = build()
            send_mail(person.email, str(subject), str(body))


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
