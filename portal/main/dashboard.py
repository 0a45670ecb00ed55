"""Dashboard panels per role. Domain packages register their own with `@panel`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.extensions import db


@dataclass
class Panel:
    title: str
    template: str
    context: dict = field(default_factory=dict)
    order: int = 50


PanelProvider = Callable[[object], Panel | None]
_PROVIDERS: list[PanelProvider] = []
_STATS: list[Callable[[], tuple[str, int]]] = []


def panel(provider: PanelProvider) -> PanelProvider:
    _PROVIDERS.append(provider)
    return provider


def stat(provider: Callable[[], tuple[str, int]]) -> Callable[[], tuple[str, int]]:
    _STATS.append(provider)
    return provider


def panels_for(user) -> list[Panel]:
    panels = [p for p in (provider(user) for provider in _PROVIDERS) if p is not None]
    return sorted(panels, key=lambda p: p.order)


STATS_CACHE_SECONDS = 60


def public_stats() -> list[tuple[str, int]]:
    """The home page's figures (a COUNT per domain): a public aggregate, kept for a minute per language
    (shared through Redis when configured), so the home page does not count every table on each view."""
    from portal.cache import cached
    from portal.i18n import current_locale_code

    def compute() -> list[list]:
        return [list(provider()) for provider in _STATS]

    return [(label, count) for label, count in cached(f"home:stats:{current_locale_code()}",
                                                      STATS_CACHE_SECONDS, compute)]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@panel
def account_panel(user) -> Panel:
    from portal.organisations.services import memberships_of

    return Panel(_l("Your account"), "main/panels/account.html",
                 {"user": user, "memberships": memberships_of(user)}, order=0)


@panel
def invitations_panel(user) -> Panel | None:
    """Invitations waiting for this person's answer: whoever must act next sees it here and by mail."""
    from portal.auth.forms import EmptyForm
    from portal.organisations.services import MEMBER_ROLE_LABELS, pending_invitations_for

    invitations = pending_invitations_for(user)
    if not invitations:
        return None
    return Panel(_l("Invitations"), "main/panels/invitations.html",
                 {"invitations": invitations, "role_labels": MEMBER_ROLE_LABELS, "action_form": EmptyForm()},
                 order=1)


@panel
def admin_panel(user) -> Panel | None:
    if not user.is_admin:
        return None
    from portal.audit import AuditEvent
    from portal.auth.models import User, UserRole
    from portal.organisations.models import Organisation

    by_role = dict(db.session.execute(select(UserRole.role, func.count()).group_by(UserRole.role)).all())
    recent = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(8)).all()
    return Panel(_l("Platform administration"), "main/panels/admin.html",
                 {"users": _count(User), "organisations": _count(Organisation), "by_role": by_role,
                  "recent_events": recent}, order=5)


@stat
def organisation_stat() -> tuple[str, int]:
    from portal.organisations.models import Organisation

    return str(_l("organisations")), _count(Organisation)
