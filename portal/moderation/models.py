"""Flags: a signed-in person reports a campaign, a comment or an idea to the moderators, with a reason.

A flag names its object by kind and id (`FlagTarget`, `object_id`): one table for every kind of content.
Each person has at most one open flag per object (a partial unique index); a moderator's decision closes
every open flag of the object at once: upheld (the object is hidden) or dismissed (it stays).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.states import LABELS, Choice, Status, status_check


class FlagTarget(Choice):
    CAMPAIGN = "campaign"
    CAMPAIGN_COMMENT = "campaign_comment"
    IDEA = "idea"
    IDEA_COMMENT = "idea_comment"


class FlagReason(Choice):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    MISLEADING = "misleading"
    INFRINGEMENT = "infringement"
    OTHER = "other"


class FlagStatus(Status):
    OPEN = "open"
    UPHELD = "upheld"  # the moderators hid the object
    DISMISSED = "dismissed"  # the moderators kept it


# What a person reads for each value (portal.states.LABELS is the one label table; these are ours).
LABELS.setdefault("FlagTarget", {"campaign": _l("Campaign"), "campaign_comment": _l("Comment on a campaign"),
                                 "idea": _l("Idea"), "idea_comment": _l("Comment on an idea")})
LABELS.setdefault("FlagReason", {"spam": _l("Spam or advertising"), "offensive": _l("Offensive or abusive"),
                                 "misleading": _l("Misleading or a scam"),
                                 "infringement": _l("Infringes someone's rights"), "other": _l("Something else")})
LABELS.setdefault("FlagStatus", {"open": _l("Open"), "upheld": _l("Hidden by moderators"),
                                 "dismissed": _l("Dismissed")})


class Flag(db.Model):
    __tablename__ = "content_flag"
    __table_args__ = (
        status_check(FlagStatus, "status", name="status_valid"),
        status_check(FlagReason, "reason", name="reason_valid"),
        status_check(FlagTarget, "object_type", name="object_type_valid"),
        # One open flag per person per object; closed flags do not count (flag again after a restore).
        Index("uq_content_flag_open_per_reporter", "object_type", "object_id", "reporter_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_content_flag_status_object", "status", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int] = mapped_column()
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=FlagStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])

    def __repr__(self) -> str:
        return f"<Flag {self.id} {self.object_type}:{self.object_id} {self.status}>"
