import logging

import pytest

from portal.config import ConfigError, load_config, validate_config
from portal.redaction import SecretRedactingFilter


def config_for(**env):
    return load_config("/tmp/instance", env)


def test_defaults_give_a_working_sqlite_quickstart():
    config = config_for()
    validate_config(config)
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/instance/portal.sqlite3"
    assert config["JOBS_INLINE"] is True and config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["PLATFORM_FEE_PERCENT"] == 5


def test_production_refuses_to_start_without_a_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        validate_config(config_for(PORTAL_ENV="production"))


def test_every_problem_is_named_at_once():
    config = config_for(PLATFORM_FEE_PERCENT="seven", MAIL_PORT="x", DATABASE_URL="mysql://db/portal",
                        STRIPE_SECRET_KEY="pk_live_wrong", SECRET_KEY="short")
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    message = str(error.value)
    for name in ("PLATFORM_FEE_PERCENT", "MAIL_PORT", "DATABASE_URL", "STRIPE_SECRET_KEY", "SECRET_KEY"):
        assert name in message


def test_redis_url_switches_jobs_and_rate_limits_to_redis():
    config = config_for(REDIS_URL="redis://127.0.0.1:6379/0", DATABASE_URL="postgres://u:p@db/portal")
    assert config["JOBS_INLINE"] is False
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/portal"


def test_create_app_fails_fast_with_a_clear_message(monkeypatch):
    from portal import create_app

    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_secrets_never_reach_the_log(caplog):
    config = config_for(SECRET_KEY="super-secret-value-123", STRIPE_SECRET_KEY="sk_test_abcdefghijklmnop",
                        DATABASE_URL="postgresql://portal:db-password-9@host/portal")
    redactor = SecretRedactingFilter.from_config(config)
    logger = logging.getLogger("test.redaction")
    logger.addFilter(redactor)
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("config %s %s %s", config["SECRET_KEY"], config["STRIPE_SECRET_KEY"],
                    config["SQLALCHEMY_DATABASE_URI"])
        logger.info("token hcp_%s used", "A" * 30)
    text = caplog.text
    for secret in ("super-secret-value-123", "sk_test_abcdefghijklmnop", "db-password-9", "hcp_AAAA"):
        assert secret not in text
    assert text.count("[redacted]") >= 4
