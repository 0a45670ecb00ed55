"""The moderation rules, in one place: who may flag what, who still sees hidden content, and the
moderators' decisions (hide, restore, dismiss). HTML views call these; they flush, never commit.

Flaggable content: campaigns, campaign comments (and Q&A answers), ideas and idea comments. Each has a
`hidden_at` column. Hidden content is gone for the public (lists, search, detail pages answer 404) and
kept, under a "hidden by moderators" banner, for its owner (the campaign's team, the author) and admins.
Every decision is written to the audit log and told to the owners in their language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import abort, current_app, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_users
from portal.moderation.models import Flag, FlagReason, FlagStatus, FlagTarget
from portal.permissions import Permission, can, policy

# Permissions (portal.permissions): flag an object; see it while it is hidden. Deciding is
# `Permission.ADMIN`, which has no policy: platform admins only.
FLAG = "flag"
SEE_HIDDEN = "see_hidden"
NOTE_MAX = 1000


# ---- the flaggable kinds -----------------------------------------------------------------------

def models() -> dict[str, type]:
    """{FlagTarget value: model}. Imported here, not at module level: the domain packages import us."""
    from funding.models import Campaign, CampaignComment
    from incubation.models import Idea, IdeaComment

    return {FlagTarget.CAMPAIGN: Campaign, FlagTarget.CAMPAIGN_COMMENT: CampaignComment,
            FlagTarget.IDEA: Idea, FlagTarget.IDEA_COMMENT: IdeaComment}


def target_of(obj) -> str:
    for kind, model in models().items():
        if type(obj) is model:
            return kind
    raise TypeError(f"{type(obj).__name__} cannot be flagged")


def get_target(kind: str, object_id) -> object | None:
    if not FlagTarget.has(kind):
        return None
    try:
        return db.session.get(models()[kind], int(object_id))
    except (TypeError, ValueError, OverflowError):
        return None


def parent_of(obj):
    """The page an object is shown on: a comment's campaign or idea; a campaign or idea itself."""
    kind = target_of(obj)
    if kind == FlagTarget.CAMPAIGN_COMMENT:
        from funding.models import Campaign

        return db.session.get(Campaign, obj.campaign_id)
    if kind == FlagTarget.IDEA_COMMENT:
        from incubation.models import Idea

        return db.session.get(Idea, obj.idea_id)
    return obj


def title_of(obj) -> str:
    """How a person recognises the object: a title, or the start of a comment."""
    title = getattr(obj, "title", None)
    if title:
        return title
    body = " ".join((getattr(obj, "body", "") or "").split())
    return body if len(body) <= 80 else body[:79] + "…"


def url_of(obj) -> str:
    kind, parent = target_of(obj), parent_of(obj)
    if kind in (FlagTarget.CAMPAIGN, FlagTarget.CAMPAIGN_COMMENT):
        url = url_for("funding.campaign_detail", campaign_id=parent.id)
    else:
        url = url_for("incubation.idea_detail", idea_id=parent.id)
    return url if kind in (FlagTarget.CAMPAIGN, FlagTarget.IDEA) else f"{url}#comment-{obj.id}"


def owners_of(obj) -> list[User]:
    """Who is told about decisions: the campaign's team (its organisation's members) or the author."""
    if target_of(obj) == FlagTarget.CAMPAIGN:
        from portal.organisations.models import Membership

        return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                       .where(Membership.organisation_id == obj.project.organisation_id)))
    author = db.session.get(User, obj.author_id) if obj.author_id else None
    return [author] if author is not None else []


# ---- policies ------------------------------------------------------------------------------------

def _is_author(user, obj) -> bool:
    return user is not None and obj.author_id is not None and obj.author_id == user.id


def _campaign_team(user, campaign) -> bool:
    from portal.organisations.services import role_in

    return user is not None and role_in(user, campaign.project.organisation_id) is not None


def register_policies() -> None:
    from funding.models import Campaign, CampaignComment
    from incubation.models import Idea, IdeaComment

    @policy(Campaign, SEE_HIDDEN)
    def campaign_see_hidden(user, campaign) -> bool:
        return _campaign_team(user, campaign)

    @policy(Idea, SEE_HIDDEN)
    @policy(CampaignComment, SEE_HIDDEN)
    @policy(IdeaComment, SEE_HIDDEN)
    def author_sees_hidden(user, obj) -> bool:
        return _is_author(user, obj)

    @policy(Campaign, FLAG)
    def campaign_flag(user, campaign) -> bool:
        """Anyone signed in who sees a public campaign, except its own team."""
        return (user is not None and campaign.is_public and can(user, Permission.VIEW, campaign)
                and not _campaign_team(user, campaign))

    @policy(Idea, FLAG)
    @policy(CampaignComment, FLAG)
    @policy(IdeaComment, FLAG)
    def content_flag(user, obj) -> bool:
        """Anyone signed in who sees it, except its author."""
        return user is not None and not _is_author(user, obj) and can(user, Permission.VIEW, parent_of(obj))


# ---- who sees what -------------------------------------------------------------------------------

def is_hidden(obj) -> bool:
    return getattr(obj, "hidden_at", None) is not None


def visible_to(user, obj) -> bool:
    """Not hidden, or the viewer is its owner or an admin (portal.permissions: SEE_HIDDEN)."""
    return not is_hidden(obj) or can(user, SEE_HIDDEN, obj)


def check_visible(obj) -> None:
    """404 for a hidden object, unless the current user owns it or is an admin: as if it did not exist."""
    if obj is not None and not visible_to(current_user, obj):
        abort(404)


def shown(user, objects):
    """The objects of a list that `user` may see (hidden ones only for their owners and admins)."""
    return [obj for obj in objects if visible_to(user, obj)]


def public_only(model):
    """The SQL condition of a public list: not hidden."""
    return model.hidden_at.is_(None)


def hidden_state(kind: str, object_id: int) -> datetime | None:
    """`hidden_at` of one object, read alone (the request guard reads it for every campaign or idea URL)."""
    model = models()[kind]
    return db.session.scalar(select(model.hidden_at).where(model.id == object_id))


# ---- flags ---------------------------------------------------------------------------------------

def open_flag_of(user: User, obj) -> Flag | None:
    return db.session.scalar(select(Flag).where(Flag.object_type == target_of(obj), Flag.object_id == obj.id,
                                                Flag.reporter_id == user.id, Flag.status == FlagStatus.OPEN))


class AlreadyFlagged(Conflict):
    code = "already_flagged"


def flag(user: User, obj, reason: str, note: str = "") -> Flag:
    """`user` reports `obj` (the caller checked FLAG). One open flag per person and object: a second is
    refused with a message (the unique index decides a race the same way)."""
    if not FlagReason.has(reason):
        raise ValidationFailed.field("reason", _("Choose a reason."))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed.field("note", _("At most %(max)d characters.", max=NOTE_MAX))
    if is_hidden(obj):
        raise Conflict(_("The moderators have already hidden this."))
    if open_flag_of(user, obj) is not None:
        raise AlreadyFlagged(_("You have already reported this. The moderators will look at it."))
    item = Flag(object_type=target_of(obj), object_id=obj.id, reporter_id=user.id, reason=reason, note=note,
                status=FlagStatus.OPEN)
    try:
        with db.session.begin_nested():
            db.session.add(item)
            db.session.flush()
    except IntegrityError:
        raise AlreadyFlagged(_("You have already reported this. The moderators will look at it.")) from None
    audit.record("moderation.flagged", item, after={"object_type": item.object_type, "object_id": obj.id,
                                                    "reason": reason}, actor_id=user.id)
    return item


def _close_flags(obj, status: str, moderator: User) -> int:
    now, closed = utcnow(), 0
    for item in db.session.scalars(select(Flag).where(Flag.object_type == target_of(obj), Flag.object_id == obj.id,
                                                      Flag.status == FlagStatus.OPEN)):
        item.status, item.decided_at, item.decided_by_id = status, now, moderator.id
        closed += 1
    db.session.flush()
    return closed


def _tell_owners(obj, kind: str, build) -> None:
    """Mail (and notify in the app) the owners, in their language, as the notification kind `kind`
    ("moderation.hidden" / "moderation.restored", portal.notifications.kinds), linking to the object."""
    link = url_of(obj)
    absolute = current_app.config["PUBLIC_BASE_URL"] + link

    def with_link():
        subject, body = build()
        return subject, f"{body}\n\n{absolute}"

    send_to_users(owners_of(obj), with_link, kind=kind, link=link)


def hide(obj, moderator: User, note: str = "") -> None:
    """Hide `obj` from the public; its open flags are upheld; its owners are told (Permission.ADMIN, checked
    by the caller)."""
    if is_hidden(obj):
        raise Conflict(_("This is already hidden."))
    obj.hidden_at = utcnow()
    closed = _close_flags(obj, FlagStatus.UPHELD, moderator)
    audit.record("moderation.hidden", obj, before={"hidden_at": None},
                 after={"hidden_at": obj.hidden_at, "flags_upheld": closed, "note": note}, actor_id=moderator.id)
    title = title_of(obj)
    _tell_owners(obj, "moderation.hidden", lambda: (
        _("Hidden by moderators: %(title)s", title=title),
        _("The moderators hid this from the public: %(what)s \"%(title)s\". You and the platform admins still "
          "see it. If you think this is a mistake, contact the platform admins.",
          what=str(FlagTarget(target_of(obj)).label), title=title)))


def restore(obj, moderator: User) -> None:
    """Bring a hidden object back for everyone; its owners are told."""
    if not is_hidden(obj):
        raise Conflict(_("This is not hidden."))
    before = obj.hidden_at
    obj.hidden_at = None
    db.session.flush()
    audit.record("moderation.restored", obj, before={"hidden_at": before}, after={"hidden_at": None},
                 actor_id=moderator.id)
    title = title_of(obj)
    _tell_owners(obj, "moderation.restored", lambda: (
        _("Visible again: %(title)s", title=title),
        _("The moderators restored this; everyone sees it again: %(what)s \"%(title)s\".",
          what=str(FlagTarget(target_of(obj)).label), title=title)))


def dismiss(obj, moderator: User) -> int:
    """Keep `obj` as it is and close its open flags."""
    closed = _close_flags(obj, FlagStatus.DISMISSED, moderator)
    if not closed:
        raise Conflict(_("There are no open reports about this."))
    audit.record("moderation.dismissed", obj, after={"flags_dismissed": closed}, actor_id=moderator.id)
    return closed


# ---- the moderators' queue -------------------------------------------------------------------------

def _first_open_flags() -> Select:
    """The first open flag of each flagged object (one row per object)."""
    return (select(func.min(Flag.id)).where(Flag.status == FlagStatus.OPEN)
            .group_by(Flag.object_type, Flag.object_id))


def queue_stmt() -> Select:
    """One flag per object with open flags, oldest report first: the rows the queue pages over."""
    return select(Flag).where(Flag.id.in_(_first_open_flags())).order_by(Flag.id)


def count_subquery():
    """Objects waiting for a decision, as a scalar sub-select (portal.admin.queues counts every queue at once)."""
    return select(func.count(Flag.id)).where(Flag.id.in_(_first_open_flags())).scalar_subquery()


@dataclass
class FlaggedObject:
    kind: str
    object_id: int
    obj: object | None  # None: deleted since
    flags: list[Flag] = field(default_factory=list)

    @property
    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.flags:
            counts[item.reason] = counts.get(item.reason, 0) + 1
        return counts


def flagged_objects(first_flags: list[Flag]) -> list[FlaggedObject]:
    """The page's objects with all their open flags and reporters: one query for the flags, one per kind."""
    if not first_flags:
        return []
    keys = [(f.object_type, f.object_id) for f in first_flags]
    by_kind: dict[str, set[int]] = {}
    for kind, object_id in keys:
        by_kind.setdefault(kind, set()).add(object_id)
    from sqlalchemy.orm import selectinload

    flags = db.session.scalars(select(Flag).options(selectinload(Flag.reporter)).where(
        Flag.status == FlagStatus.OPEN,
        or_(*[(Flag.object_type == kind) & Flag.object_id.in_(ids) for kind, ids in by_kind.items()]))
        .order_by(Flag.id)).all()
    objects = {}
    for kind, ids in by_kind.items():
        model = models()[kind]
        for obj in db.session.scalars(select(model).where(model.id.in_(ids))):
            objects[(kind, obj.id)] = obj
    groups = [FlaggedObject(kind, object_id, objects.get((kind, object_id))) for kind, object_id in keys]
    index = {(g.kind, g.object_id): g for g in groups}
    for item in flags:
        index[(item.object_type, item.object_id)].flags.append(item)
    return groups


HIDDEN_SHOWN = 50


def hidden_objects(limit: int = HIDDEN_SHOWN) -> list[tuple[str, object]]:
    """Content hidden now, most recently hidden first (for restoring): [(kind, object)]."""
    rows = []
    for kind, model in models().items():
        for obj in db.session.scalars(select(model).where(model.hidden_at.is_not(None))
                                      .order_by(model.hidden_at.desc()).limit(limit)):
            rows.append((kind, obj))
    rows.sort(key=lambda row: row[1].hidden_at, reverse=True)
    return rows[:limit]
