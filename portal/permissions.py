"""The one permission helper every view and API endpoint goes through.

`load(Model, id, permission)` fetches the object or answers 404, then answers 403 unless a policy
grants `permission` on it to the current user. Domain packages register their policies with
`@policy(Model, permission)`; permissions are named constants, never ad-hoc checks in views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from portal.extensions import db

T = TypeVar("T")


class Permission:
    VIEW = "view"
    EDIT = "edit"
    MANAGE = "manage"  # manage members, settings
    ADMIN = "admin"  # platform administration


Policy = Callable[[Any, Any], bool]
_POLICIES: dict[tuple[type, str], Policy] = {}
# Permissions someone exercises as themselves (accept *my* invitation, review *my* booking): an admin
# is refused like anyone else, since acting in another person's name is not administration.
_PERSONAL: set[tuple[type, str]] = set()


def policy(model: type, permission: str, *, personal: bool = False) -> Callable[[Policy], Policy]:
    def register(func: Policy) -> Policy:
        _POLICIES[(model, permission)] = func
        if personal:
            _PERSONAL.add((model, permission))
        return func

    return register


def can(user, permission: str, obj: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        user = None
    if user is not None and user.is_admin and (type(obj), permission) not in _PERSONAL:
        return True
    rule = _POLICIES.get((type(obj), permission))
    if rule is None:
        return False  # no policy, no access
    return bool(rule(user, obj))


def require(permission: str, obj: Any) -> None:
    if not can(current_user, permission, obj):
        abort(401 if not current_user.is_authenticated else 403)


def load(model: type[T], ident: Any, permission: str = Permission.VIEW) -> T:
    try:
        obj = db.session.get(model, int(ident))
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        abort(404)
    require(permission, obj)
    return obj


def require_role(*roles: str) -> None:
    """Abort unless the current user holds one of `roles` (admins hold every role)."""
    if not current_user.is_authenticated:
        abort(401)
    if current_user.is_admin:
        return
    if not any(current_user.has_role(role) for role in roles):
        abort(403)
