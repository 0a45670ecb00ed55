"""Mail to backers, always in the recipient's language (their locale, not the one of whoever triggered it:
settlement runs from the CLI or a worker, webhooks come from Stripe)."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import force_locale

from portal.auth.models import User
from portal.mail import send_mail


def mail_user(user: User, build: Callable[[], tuple[str, str]]) -> None:
    """`build` returns (subject, body); it runs under the user's locale so gettext and money formats follow it."""
    with force_locale(user.locale or "en"):
        subject, body = build()
        send_mail(user.email, str(subject), str(body))
