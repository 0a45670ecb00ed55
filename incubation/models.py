"""Incubation: startup projects, programs run by anchor companies, mentors and their office hours, ideas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.organisations.models import Organisation


def _in(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that `column` holds one of `values` (constants only, never user input)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ProjectStage:
    IDEA = "idea"
    PROTOTYPE = "prototype"
    MVP = "mvp"
    REVENUE = "revenue"
    SCALE = "scale"
    ALL = (IDEA, PROTOTYPE, MVP, REVENUE, SCALE)


class IncubationMode:
    INTERNAL = "internal"
    SPIN_OFF = "spin_off"
    CROWDFUNDING = "crowdfunding"
    OPEN_SOURCE = "open_source"
    ALL = (INTERNAL, SPIN_OFF, CROWDFUNDING, OPEN_SOURCE)


class ProjectStatus:
    DRAFT = "draft"
    SUBMITTED = "submitted"
    SCREENING = "screening"
    NEEDS_INFO = "needs_info"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    INCUBATING = "incubating"
    GRADUATED = "graduated"
    WITHDRAWN = "withdrawn"
    ALL = (DRAFT, SUBMITTED, SCREENING, NEEDS_INFO, ACCEPTED, REJECTED, INCUBATING, GRADUATED, WITHDRAWN)
    PRIVATE = (DRAFT,)  # seen only by the organisation's members and admins
    SUBMITTABLE = (DRAFT, NEEDS_INFO)


class Project(db.Model):
    """A startup's venture, pitched to programs and possibly crowdfunded."""

    __tablename__ = "project"
    __table_args__ = (
        CheckConstraint("funding_sought_amount IS NULL OR funding_sought_amount >= 0",
                        name="funding_sought_amount_non_negative"),
        CheckConstraint(_in("status", ProjectStatus.ALL), name="status_valid"),
        CheckConstraint(_in("stage", ProjectStage.ALL), name="stage_valid"),
        CheckConstraint(_in("mode", IncubationMode.ALL), name="mode_valid"),
        Index("ix_project_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    summary: Mapped[str] = mapped_column(String(280), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    problem: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    market: Mapped[str] = mapped_column(Text, default="")
    business_model: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(20), default=ProjectStage.IDEA)
    industry: Mapped[str] = mapped_column(String(80), default="", index=True)
    team: Mapped[str] = mapped_column(Text, default="")
    funding_sought_amount: Mapped[int | None] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    mode: Mapped[str] = mapped_column(String(20), default=IncubationMode.OPEN_SOURCE)
    video_url: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(20), default=ProjectStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()

    @property
    def is_draft(self) -> bool:
        return self.status in ProjectStatus.PRIVATE

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.status}>"


class Program(db.Model):
    """An incubation program (a cohort) run by an anchor company, open for applications for a period."""

    __tablename__ = "program"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
        CheckConstraint(_in("mode", IncubationMode.ALL), name="mode_valid"),
        Index("ix_program_opens_at_closes_at", "opens_at", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(20), default=IncubationMode.INTERNAL)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    criteria: Mapped[list[ProgramCriterion]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="ProgramCriterion.id")

    def is_open(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.opens_at <= now < self.closes_at


class ProgramCriterion(db.Model):
    """A weighted criterion reviewers score applications on."""

    __tablename__ = "program_criterion"
    __table_args__ = (
        UniqueConstraint("program_id", "name"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    weight: Mapped[int] = mapped_column(default=1)

    program: Mapped[Program] = relationship(back_populates="criteria")


class MentorProfile(db.Model):
    __tablename__ = "mentor_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    organisation: Mapped[str] = mapped_column(String(160), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
    slots: Mapped[list[MentorSlot]] = relationship(
        back_populates="mentor_profile", cascade="all, delete-orphan", order_by="MentorSlot.starts_at")


class MentorSlot(db.Model):
    """One office-hour slot; free while `booked_by_id` is empty."""

    __tablename__ = "mentor_slot"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        Index("ix_mentor_slot_mentor_profile_id_starts_at", "mentor_profile_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_profile_id: Mapped[int] = mapped_column(ForeignKey("mentor_profile.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    topic: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mentor_profile: Mapped[MentorProfile] = relationship(back_populates="slots")
    booked_by: Mapped[User | None] = relationship()

    @property
    def is_free(self) -> bool:
        return self.booked_by_id is None


class Idea(db.Model):
    """A consumer's product idea that others vote on and founders may build."""

    __tablename__ = "idea"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    author: Mapped[User | None] = relationship()


class IdeaVote(db.Model):
    __tablename__ = "idea_vote"
    __table_args__ = (UniqueConstraint("idea_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    idea: Mapped[Idea] = relationship()
    user: Mapped[User] = relationship()
