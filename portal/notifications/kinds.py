"""The kinds of notification: a short stable key per kind of mail, with its translated label and group.

`portal.mail.send_to_user(user, build, kind=...)` takes one of these keys. The key is stored (on
notifications and preferences) and never shown: pages and mails show `label`. `required` kinds concern
the account's security or membership (confirmation, password reset, invitations): they are always mailed
and have no unsubscribe link. `in_app=False`: mail only (a password reset link has no place in the centre).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

GROUPS = {
    "account": _l("Account and security"),
    "funding": _l("Crowdfunding"),
    "incubation": _l("Incubation"),
    "resources": _l("Labs and equipment"),
    "other": _l("Other"),
}


@dataclass(frozen=True)
class Kind:
    key: str
    label: object  # a lazy string
    group: str
    required: bool = False
    in_app: bool = True


_ALL = (
    Kind("account.confirm_email", _l("Email address confirmation"), "account", required=True, in_app=False),
    Kind("account.password_reset", _l("Password reset"), "account", required=True, in_app=False),
    Kind("account.registration_attempt", _l("Someone registering with your address"), "account", required=True,
         in_app=False),
    Kind("organisation.invitation", _l("Invitations to join an organisation"), "account", required=True),
    Kind("pledge.receipt", _l("Receipts for your pledges"), "funding"),
    Kind("pledge.payment", _l("Payments of your pledges (collected, failed, to confirm)"), "funding"),
    Kind("pledge.refund", _l("Refunds"), "funding"),
    Kind("campaign.outcome", _l("Campaigns funded or not funded"), "funding"),
    Kind("campaign.submitted", _l("Campaigns awaiting approval"), "funding"),
    Kind("campaign.review", _l("Approval or rejection of your campaigns"), "funding"),
    Kind("campaign.update", _l("Updates from campaigns you back"), "funding"),
    Kind("campaign.answer", _l("Questions and answers on campaigns"), "funding"),
    Kind("campaign.comment", _l("Comments on your campaigns"), "funding"),
    Kind("financing.application", _l("Financing applications to review"), "funding"),
    Kind("financing.decision", _l("Decisions on your financing applications"), "funding"),
    Kind("program.application", _l("Applications to your programs"), "incubation"),
    Kind("application.decision", _l("Decisions on your applications"), "incubation"),
    Kind("project.status", _l("Status changes of your projects"), "incubation"),
    Kind("project.submitted", _l("Projects submitted for screening"), "incubation"),
    Kind("review.assignment", _l("Review assignments"), "incubation"),
    Kind("support.request", _l("Support requests"), "incubation"),
    Kind("idea.adopted", _l("Ideas you backed being built"), "incubation"),
    Kind("idea.comment", _l("Comments on your ideas"), "incubation"),
    Kind("mentor.session", _l("Mentor sessions"), "incubation"),
    Kind("booking.confirmed", _l("Your bookings confirmed or received"), "resources"),
    Kind("booking.decision", _l("Approvals, rejections and cancellations of your bookings"), "resources"),
    Kind("booking.reminder", _l("Reminders the day before a booking"), "resources"),
    Kind("booking.waitlist", _l("Waitlist offers"), "resources"),
    Kind("booking.request", _l("Booking requests to approve"), "resources"),
    Kind("resource.problem", _l("Problem reports"), "resources"),
    Kind("resource.training", _l("Trainings and qualifications"), "resources"),
    Kind("moderation.hidden", _l("Your content hidden by moderators"), "other"),
    Kind("moderation.restored", _l("Your content restored by moderators"), "other"),
    Kind("general", _l("Other notifications"), "other"),
)

KINDS: dict[str, Kind] = {kind.key: kind for kind in _ALL}


def get_kind(key: str) -> Kind:
    """The kind named `key`; an unknown key is a programming error (a typo at a call site)."""
    try:
        return KINDS[key]
    except KeyError:
        raise ValueError(f"unknown notification kind {key!r}; add it to portal.notifications.kinds") from None


def kind_label(key: str) -> str:
    """The kind's label in the current language (never the raw key)."""
    kind = KINDS.get(key)
    return str(kind.label) if kind is not None else str(KINDS["general"].label)


def grouped() -> list[tuple[str, list[Kind]]]:
    """(group label, kinds) in display order, for the preferences page."""
    result: dict[str, list[Kind]] = {}
    for kind in _ALL:
        result.setdefault(kind.group, []).append(kind)
    return [(str(GROUPS[group]), kinds) for group, kinds in result.items()]
