"""Template globals and filters: money in minor units, local times, role-based navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from portal.i18n import current_locale_code, html_lang
from portal.money import format_money
from portal.states import label_for


@dataclass
class NavItem:
    label: str
    endpoint: str
    roles: tuple[str, ...] = ()  # empty: everyone
    order: int = 50
    group: str | None = None  # items of one group share a dropdown


# Dropdown groups of the main navigation, so it fits one line on a laptop screen.
NAV_GROUPS = {
    "incubation": _l("Incubation"),
    "resources": _l("Labs & equipment"),
    "cocreation": _l("Co-creation"),
}


NAV: list[NavItem] = []

ROLE_LABELS = {
    "founder": _l("Founder"),
    "company": _l("Anchor company"),
    "mentor": _l("Mentor"),
    "backer": _l("Backer"),
    "admin": _l("Platform admin"),
    "owner": _l("Owner"),
    "member": _l("Member"),
    "startup": _l("Startup"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS[role]) if role in ROLE_LABELS else label_for(role)


def verified_badge(organisation) -> Markup:
    """The mark shown next to a company's name wherever it appears: verified by a platform admin."""
    if organisation is None or not getattr(organisation, "is_verified", False):
        return Markup("")
    label = _("verified")
    title = _("Verified by the platform: this company's identity was checked by an admin.")
    return Markup('<span class="badge text-bg-success verified-badge" title="{}">&#10003; {}</span>').format(
        title, label)


def nav_item(label, endpoint: str, roles: tuple[str, ...] = (), order: int = 50, group: str | None = None) -> None:
    """Register a navigation entry once, however many apps are created (tests make several)."""
    if any(item.endpoint == endpoint for item in NAV):
        return
    NAV.append(NavItem(label, endpoint, roles, order, group))


def local_time(moment: datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    """A UTC moment in the resource's zone (`tz`) or the reader's, without seconds and with one date
    format per locale: "medium" and "short" are both the locale's medium date with its short time
    ("Dec 1, 2026 9:30 AM", "2026年12月1日 09:30"; Babel's own medium would show seconds, its short
    a second date format). Any other `fmt` is a Babel pattern."""
    if moment is None:
        return ""
    suffix = ""
    if tz:
        moment = moment.astimezone(ZoneInfo(tz))
        suffix = " " + moment.strftime("%Z")
        moment, rebase = moment.replace(tzinfo=None), False
    else:
        rebase = True
    if fmt in ("medium", "short"):
        date_part = format_date(moment, "medium", rebase=rebase)
        time_part = format_time(moment, "short", rebase=rebase)
        return f"{date_part} {time_part}{suffix}"
    return format_datetime(moment, fmt, rebase=rebase) + suffix


def nav_tree() -> list[tuple[str | None, list[NavItem]]]:
    """Visible entries as (group label or None, items), groups placed where their first item is."""
    tree: list[tuple[str | None, list[NavItem]]] = []
    positions: dict[str, int] = {}
    for item in visible_nav():
        if item.group is None:
            tree.append((None, [item]))
        elif item.group in positions:
            tree[positions[item.group]][1].append(item)
        else:
            positions[item.group] = len(tree)
            tree.append((str(NAV_GROUPS.get(item.group, item.group)), [item]))
    return tree


def visible_nav() -> list[NavItem]:
    items = []
    for item in sorted(NAV, key=lambda i: i.order):
        if item.roles:
            if not current_user.is_authenticated:
                continue
            if not current_user.is_admin and not any(current_user.has_role(r) for r in item.roles):
                continue
        items.append(item)
    return items


def init_app(app: Flask) -> None:
    nav_item(_l("Organisations"), "organisations.index", order=90)
    nav_item(_l("Admin"), "admin.index", roles=("admin",), order=99)

    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["localtime"] = local_time
    # `{{ booking.status | label }}` or `{{ entry.kind | label("LedgerKind") }}`: never the raw value.
    app.jinja_env.filters["label"] = label_for

    @app.context_processor
    def inject():
        from portal.auth.forms import LOCALE_CHOICES

        return {
            "nav_tree": nav_tree(),
            "html_lang": html_lang(),
            "current_locale": current_locale_code(),
            # The choices only: a form object would make a CSRF token, and with it a session for every visitor.
            "locale_choices": LOCALE_CHOICES,
            "sandbox_payments": not app.config.get("STRIPE_SECRET_KEY"),
            "is_active_endpoint": lambda endpoint: request.endpoint == endpoint,
            "url_for": url_for,
            "role_label": role_label,
            "verified_badge": verified_badge,
        }
