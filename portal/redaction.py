"""Keep secrets out of the logs: any configured secret value is masked in every log record."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

SECRET_SETTINGS = ("SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "MAIL_PASSWORD", "AUDIT_SIGNING_KEY",
                   "ELASTICSEARCH_API_KEY", "ELASTICSEARCH_PASSWORD", "METRICS_TOKEN")
URL_SETTINGS = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "ELASTICSEARCH_URL")
# Stripe keys and our API tokens have recognisable shapes even when they are not configured here.
PATTERNS = re.compile(r"\b(sk|rk|whsec)_(live|test)?_?[A-Za-z0-9]{8,}|\bhcp_[A-Za-z0-9_\-]{20,}")
MASK = "[redacted]"


class SecretRedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    @classmethod
    def from_config(cls, config: Mapping) -> SecretRedactingFilter:
        secrets = [config.get(name) for name in SECRET_SETTINGS]
        for name in URL_SETTINGS:
            value = config.get(name)
            for url in (value or "").split(","):  # ELASTICSEARCH_URL may list several nodes
                try:
                    password = urlsplit(url.strip()).password
                except ValueError:
                    password = None
                if password:
                    secrets += [password, unquote(password)]
        return cls([s for s in secrets if isinstance(s, str)])

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return PATTERNS.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
