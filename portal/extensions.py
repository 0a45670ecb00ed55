"""Extension objects, created once and bound to the app in `create_app`."""

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names make Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# With Redis as the storage (REDIS_URL) every host shares one budget. When Redis is unreachable the
# limiter falls back to per-process limits (the same limits, counted in memory), logs
# "Rate limit storage unreachable - falling back to in-memory storage" once, and goes back to Redis
# when a periodic check finds it again ("Rate limit storage recovered"); short socket timeouts keep a
# dead Redis from holding requests up. swallow_errors: a storage error never turns into a 500.
limiter = Limiter(key_func=get_remote_address, default_limits=[], in_memory_fallback_enabled=True,
                  swallow_errors=True, storage_options={"socket_connect_timeout": 0.5, "socket_timeout": 0.5})


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# One budget of credential attempts per client address, shared by every endpoint that checks a
# password or starts a reset (HTML login, API token creation, forgot and reset password), so
# switching between them buys an attacker nothing.
login_budget = limiter.shared_limit(_login_rate_limit, scope="login", methods=["POST"])
# Registration (HTML and API) has a budget of its own, of the same size.
register_budget = limiter.shared_limit(_login_rate_limit, scope="register", methods=["POST"])
