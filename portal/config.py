"""All settings in one place, read from the environment (and a `.env` file).

`load_config` returns a plain dict for `app.config.from_mapping`; `validate_config` refuses to
start on settings that would be unsafe or cannot work, with one message naming every problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv


class ConfigError(RuntimeError):
    """The environment describes a configuration the portal cannot run with."""


DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
LOCALES = ("en", "zh_CN")


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int, errors: list[str]) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        errors.append(f"{name} must be an integer, got {raw!r}")
        return default


def _switch(env: Mapping[str, str], name: str, default: bool, errors: list[str]) -> bool:
    from portal.search.settings import parse_switch

    return parse_switch(env, name, default, errors)


def normalise_database_url(url: str) -> str:
    """Heroku-style `postgres://` and bare `postgresql://` URLs use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def load_config(instance_path: str, env: Mapping[str, str] | None = None) -> dict:
    if env is None:
        load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
    errors: list[str] = []
    environment = env.get("PORTAL_ENV", env.get("FLASK_ENV", "development")).lower()
    production = environment == "production"

    database_url = env.get("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "portal.sqlite3")
    fee = _int(env, "PLATFORM_FEE_PERCENT", 5, errors)
    if not 0 <= fee <= 100:
        errors.append(f"PLATFORM_FEE_PERCENT must be between 0 and 100, got {fee}")

    config = {
        "ENV_NAME": environment,
        "SECRET_KEY": env.get("SECRET_KEY") or (None if production else DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL") or None,
        # Seconds an anonymous visitor's public page is kept and may be cached by browsers (portal.pagecache);
        # 0 turns it off. Any database write makes kept pages stale at once.
        "PAGE_CACHE_SECONDS": _int(env, "PAGE_CACHE_SECONDS", 10, errors),
        "ELASTICSEARCH_URL": env.get("ELASTICSEARCH_URL") or None,
        # Elasticsearch alias (a reindex builds a new index behind it), text analyzer (`cjk` is
        # built in; `smartcn` or `ik_max_word` when that plugin is installed), client timeout.
        "SEARCH_INDEX": env.get("SEARCH_INDEX") or "portal-search",
        "SEARCH_ANALYZER": env.get("SEARCH_ANALYZER") or "cjk",
        "ELASTICSEARCH_TIMEOUT": _int(env, "ELASTICSEARCH_TIMEOUT", 5, errors),
        # More of Elasticsearch (portal/search/settings.py): several nodes in ELASTICSEARCH_URL (commas),
        # an API key or basic auth, the CA of an https cluster, retries on another node, and `false` for
        # ELASTICSEARCH_COMPAT_HEADERS with servers that answer plain JSON only (osmem-server).
        "ELASTICSEARCH_API_KEY": env.get("ELASTICSEARCH_API_KEY") or None,
        "ELASTICSEARCH_USERNAME": env.get("ELASTICSEARCH_USERNAME") or None,
        "ELASTICSEARCH_PASSWORD": env.get("ELASTICSEARCH_PASSWORD") or None,
        "ELASTICSEARCH_CA_CERTS": env.get("ELASTICSEARCH_CA_CERTS") or None,
        "ELASTICSEARCH_MAX_RETRIES": _int(env, "ELASTICSEARCH_MAX_RETRIES", 1, errors),
        "ELASTICSEARCH_RETRY_ON_TIMEOUT": _switch(env, "ELASTICSEARCH_RETRY_ON_TIMEOUT", False, errors),
        "ELASTICSEARCH_COMPAT_HEADERS": _switch(env, "ELASTICSEARCH_COMPAT_HEADERS", True, errors),
        # Operations (portal/observability.py): one JSON object per log line (`json`, the production
        # default) or plain text; GET /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`
        # (404 while it is unset).
        "LOG_FORMAT": (env.get("LOG_FORMAT") or ("json" if production else "text")).strip().lower(),
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        # Only for tests and local Stripe-compatible servers (localstripe); unset means api.stripe.com.
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
        "PLATFORM_FEE_PERCENT": fee,
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int(env, "MAIL_PORT", 25, errors),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER") or "Haichuang Portal <no-reply@localhost>",
        "UPLOAD_FOLDER": env.get("UPLOAD_FOLDER") or os.path.join(instance_path, "uploads"),
        # Where uploads live (portal.storage): unset = UPLOAD_FOLDER on this host; `file:///path`; or
        # `s3://BUCKET[/prefix]` for an S3-compatible store, configured by boto3's own AWS_* variables.
        "STORAGE_URL": env.get("STORAGE_URL") or None,
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 16 * 1024 * 1024, errors),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": LOCALES,
        "WTF_CSRF_TIME_LIMIT": None,
        # How many reverse proxies (load balancer, nginx) stand in front of the app and set X-Forwarded-*:
        # their headers are trusted for that many hops (client address, scheme, host, port); 0 = none.
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0, errors),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT") or "10 per minute;50 per hour",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        # A login (portal.auth.sessions) ends after this long, remember-me cookie or not.
        "SESSION_MAX_AGE": timedelta(days=30),
        # Sent on every response in production only (development runs on plain http).
        "HSTS_HEADER": "max-age=31536000; includeSubDomains" if production else None,
        "CONFIRM_TOKEN_MAX_AGE": 7 * 24 * 3600,
        "RESET_TOKEN_MAX_AGE": 3600,
        "INVITATION_MAX_AGE_DAYS": 14,
        "MENTOR_CANCEL_CUTOFF_HOURS": _int(env, "MENTOR_CANCEL_CUTOFF_HOURS", 12, errors),
        # Programs with more pending applications than this are auto-assigned in a background job.
        "AUTO_ASSIGN_INLINE_MAX": _int(env, "AUTO_ASSIGN_INLINE_MAX", 50, errors),
        "JOBS_INLINE": not env.get("REDIS_URL"),
        "SEED_DEMO_ON_EMPTY": _bool(env.get("SEED_DEMO_ON_EMPTY")),
        # Ed25519 key signing audit checkpoints (format: `parse_audit_signing_key`); outside
        # production a key is generated once in the instance folder when unset.
        "AUDIT_SIGNING_KEY": env.get("AUDIT_SIGNING_KEY") or None,
        # RFC 3161 timestamp authority stamping each audit checkpoint; none when unset.
        "TSA_URL": env.get("TSA_URL") or None,
        "TSA_TIMEOUT": _int(env, "TSA_TIMEOUT", 10, errors),
        "TESTING": False,
    }
    if production and not env.get("SECRET_KEY"):
        errors.append("SECRET_KEY is required when PORTAL_ENV=production")
    if production and not env.get("AUDIT_SIGNING_KEY"):
        errors.append("AUDIT_SIGNING_KEY is required when PORTAL_ENV=production")
    if production and not env.get("REDIS_URL"):
        # Several workers or hosts need one rate-limit budget and one job queue.
        errors.append("REDIS_URL is required when PORTAL_ENV=production (shared rate limits and job queue)")
    if env.get("SECRET_KEY") and len(env["SECRET_KEY"]) < 16:
        errors.append("SECRET_KEY must be at least 16 characters")
    config["_ERRORS"] = errors
    return config


def parse_audit_signing_key(value: str):
    """AUDIT_SIGNING_KEY: an Ed25519 private key, as base64 of its 32 raw bytes or as a PKCS#8 PEM
    (newlines may be written as \\n). Create one with
    `python -c "import base64,os; print(base64.b64encode(os.urandom(32)).decode())"`."""
    import base64
    import binascii

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    text = value.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.replace("\\n", "\n").encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError("is not a readable unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("must be an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64 of 32 bytes or a PEM private key") from None
    if len(raw) != 32:
        raise ValueError(f"must decode to 32 bytes, got {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def validate_config(config: Mapping) -> None:
    errors = list(config.get("_ERRORS", []))
    if not config.get("SECRET_KEY"):
        errors.append("SECRET_KEY is not set")
    uri = config.get("SQLALCHEMY_DATABASE_URI", "")
    if not (uri.startswith("sqlite") or uri.startswith("postgresql")):
        errors.append(f"DATABASE_URL must be a SQLite or PostgreSQL URL, got scheme {urlsplit(uri).scheme!r}")
    for name in ("REDIS_URL", "PUBLIC_BASE_URL", "TSA_URL"):
        value = config.get(name)
        if value and not urlsplit(value).scheme:
            errors.append(f"{name} must be a URL, got {value!r}")
    secret = config.get("STRIPE_SECRET_KEY")
    if secret and not secret.startswith(("sk_", "rk_")):
        errors.append("STRIPE_SECRET_KEY must start with sk_ or rk_")
    if secret and not config.get("STRIPE_WEBHOOK_SECRET") and config.get("ENV_NAME") == "production":
        errors.append("STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY in production")
    if config.get("AUDIT_SIGNING_KEY"):
        try:
            parse_audit_signing_key(config["AUDIT_SIGNING_KEY"])
        except ValueError as error:
            errors.append(f"AUDIT_SIGNING_KEY {error}")
    if not 0 <= int(config.get("TRUSTED_PROXIES") or 0) <= 5:
        errors.append(f"TRUSTED_PROXIES must be between 0 and 5 (proxy hops), got {config.get('TRUSTED_PROXIES')}")
    if config.get("STORAGE_URL"):
        from portal.storage import parse_storage_url

        try:
            parse_storage_url(config["STORAGE_URL"])
        except ValueError as error:
            errors.append(f"STORAGE_URL: {error}")
    from portal.search.settings import settings_errors

    errors += settings_errors(config)  # ELASTICSEARCH_*: every node's URL, auth, CA file (no secret shown)
    if config.get("LOG_FORMAT", "text") not in ("json", "text"):
        errors.append(f"LOG_FORMAT must be json or text, got {config.get('LOG_FORMAT')!r}")
    if config.get("METRICS_TOKEN") is not None and len(config["METRICS_TOKEN"]) < 16:
        errors.append("METRICS_TOKEN must be at least 16 characters")
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        errors.append("MAIL_USE_TLS and MAIL_USE_SSL are exclusive")
    if errors:
        raise ConfigError("Invalid configuration:\n  - " + "\n  - ".join(errors))
