"""Incubation: startup projects, programs run by anchor companies, mentors and their office hours, ideas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.states import Choice, Status, status_check
from portal.uploads import StoredFile


class ProjectStage(Choice):
    IDEA = "idea"
    PROTOTYPE = "prototype"
    MVP = "mvp"
    REVENUE = "revenue"
    SCALE = "scale"


class IncubationMode(Choice):
    INTERNAL = "internal"
    SPIN_OFF = "spin_off"
    CROWDFUNDING = "crowdfunding"
    OPEN_SOURCE = "open_source"


class ProjectStatus(Status):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    SCREENING = "screening"
    NEEDS_INFO = "needs_info"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    INCUBATING = "incubating"
    GRADUATED = "graduated"
    WITHDRAWN = "withdrawn"


PRIVATE_PROJECT_STATUSES = (ProjectStatus.DRAFT,)  # seen only by the organisation's members and admins
SUBMITTABLE_PROJECT_STATUSES = (ProjectStatus.DRAFT, ProjectStatus.NEEDS_INFO)


class Project(db.Model):
    """A startup's venture, pitched to programs and possibly crowdfunded."""

    __tablename__ = "project"
    __table_args__ = (
        CheckConstraint("funding_sought_amount IS NULL OR funding_sought_amount >= 0",
                        name="funding_sought_amount_non_negative"),
        status_check(ProjectStatus, "status", name="status_valid"),
        status_check(ProjectStage, "stage", name="stage_valid"),
        status_check(IncubationMode, "mode", name="mode_valid"),
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
    cover_image_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    logo_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    # The NDA a viewer accepts before seeing NDA-gated documents; each change of the text is a new version.
    nda_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    nda_version: Mapped[int] = mapped_column(default=0, server_default="0")
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("idea.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()
    cover_image: Mapped[StoredFile | None] = relationship(foreign_keys=[cover_image_id], lazy="selectin")
    logo: Mapped[StoredFile | None] = relationship(foreign_keys=[logo_id], lazy="selectin")
    idea: Mapped[Idea | None] = relationship()

    @property
    def is_draft(self) -> bool:
        return self.status in PRIVATE_PROJECT_STATUSES

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.status}>"


class Program(db.Model):
    """An incubation program (a cohort) run by an anchor company, open for applications for a period."""

    __tablename__ = "program"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
        # PostgreSQL only (added by a later migration; on SQLite that re-creates the table, cascading to its
        # applications).
        CheckConstraint("credit_amount IS NULL OR credit_amount > 0", name="credit_amount_positive")
        .ddl_if(dialect="postgresql"),
        status_check(IncubationMode, "mode", name="mode_valid"),
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
    blind_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A draft is seen by the company's staff only; publishing needs a verified company.
    published: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Open-source programs grant resource credits to each accepted startup (minor units).
    credit_amount: Mapped[int | None] = mapped_column()
    credit_currency: Mapped[str] = mapped_column(String(3), default="CNY", server_default="CNY")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    criteria: Mapped[list[ProgramCriterion]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="ProgramCriterion.id")
    questions: Mapped[list[ProgramQuestion]] = relationship(cascade="all, delete-orphan",
                                                             order_by="ProgramQuestion.id")

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
    rating_sum: Mapped[int] = mapped_column(default=0, server_default="0")
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")
    avatar_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None

    user: Mapped[User] = relationship()
    avatar: Mapped[StoredFile | None] = relationship(lazy="selectin")
    slots: Mapped[list[MentorSlot]] = relationship(
        back_populates="mentor_profile", cascade="all, delete-orphan", order_by="MentorSlot.starts_at")


class MentorSlot(db.Model):
    """One office-hour slot; free while `booked_by_id` is empty."""

    __tablename__ = "mentor_slot"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        Index("ix_mentor_slot_mentor_profile_id_starts_at", "mentor_profile_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_profile_id: Mapped[int] = mapped_column(ForeignKey("mentor_profile.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    topic: Mapped[str] = mapped_column(String(200), default="")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"))
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")  # the mentor's session notes
    feedback: Mapped[str] = mapped_column(Text, default="", server_default="")  # the founder's, after the session
    rating: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    project: Mapped[Project | None] = relationship()
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
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # hidden by moderators (portal.moderation)

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


# ---- lifecycle -------------------------------------------------------------------------------

# The one state machine of a project: status -> statuses it may move to.
PROJECT_TRANSITIONS: dict[ProjectStatus, tuple[ProjectStatus, ...]] = {
    ProjectStatus.DRAFT: (ProjectStatus.SUBMITTED, ProjectStatus.WITHDRAWN),
    ProjectStatus.SUBMITTED: (ProjectStatus.SCREENING, ProjectStatus.WITHDRAWN),
    ProjectStatus.SCREENING: (ProjectStatus.NEEDS_INFO, ProjectStatus.ACCEPTED, ProjectStatus.REJECTED,
                              ProjectStatus.WITHDRAWN),
    ProjectStatus.NEEDS_INFO: (ProjectStatus.SUBMITTED, ProjectStatus.WITHDRAWN),
    ProjectStatus.ACCEPTED: (ProjectStatus.INCUBATING, ProjectStatus.WITHDRAWN),
    ProjectStatus.INCUBATING: (ProjectStatus.GRADUATED, ProjectStatus.WITHDRAWN),
    ProjectStatus.REJECTED: (),
    ProjectStatus.GRADUATED: (),
    ProjectStatus.WITHDRAWN: (),
}
OPEN_STATUSES = tuple(status for status, targets in PROJECT_TRANSITIONS.items() if targets)


class ProjectEvent(db.Model):
    """One step on a project's timeline: a status change (with its reason) or a noteworthy event."""

    __tablename__ = "project_event"
    __table_args__ = (Index("ix_project_event_project_id_created_at", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40), default="status")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()


# ---- documents and NDA -----------------------------------------------------------------------

class Confidentiality(Choice):
    PUBLIC = "public"
    REGISTERED = "registered"
    NDA = "nda"


class ProjectDocument(db.Model):
    """A pitch deck, drawing or other file of a project with its confidentiality level."""

    __tablename__ = "project_document"
    __table_args__ = (status_check(Confidentiality, "confidentiality", name="confidentiality_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(160))
    confidentiality: Mapped[str] = mapped_column(String(20), default=Confidentiality.NDA)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Deleting a document archives it: nobody can open it any more, but its view log stays.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    project: Mapped[Project] = relationship()
    stored_file: Mapped[StoredFile] = relationship()


class NdaAcceptance(db.Model):
    """A user accepted a given version of a project's NDA text."""

    __tablename__ = "nda_acceptance"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    text_sha256: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()


class DocumentView(db.Model):
    """One view (download) of a confidential document: who, what, when."""

    __tablename__ = "document_view"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("project_document.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    nda_version: Mapped[int | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(45))
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[ProjectDocument] = relationship()
    user: Mapped[User | None] = relationship()


# ---- former employees ------------------------------------------------------------------------

class FormerEmployment(db.Model):
    """A user's claim to have worked for a company; the company's staff verify it.

    Gates spin-off programs and feeds the conflict-of-interest check of reviewers.
    """

    __tablename__ = "former_employment"
    __table_args__ = (UniqueConstraint("user_id", "company_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    position: Mapped[str] = mapped_column(String(120), default="")
    years: Mapped[str] = mapped_column(String(20), default="")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    company: Mapped[Organisation] = relationship()

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


# ---- programs: questions, applications, reviews ----------------------------------------------

class ProgramQuestion(db.Model):
    __tablename__ = "program_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    required: Mapped[bool] = mapped_column(default=False)


class ApplicationStatus(Status):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


PENDING_APPLICATION_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.UNDER_REVIEW)


class Application(db.Model):
    """A project's application to a program."""

    __tablename__ = "program_application"
    __table_args__ = (
        UniqueConstraint("program_id", "project_id"),
        status_check(ApplicationStatus, "status", name="status_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=ApplicationStatus.SUBMITTED)
    feedback: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    program: Mapped[Program] = relationship()
    project: Mapped[Project] = relationship()
    assignments: Mapped[list[ReviewAssignment]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ReviewAssignment.id")


class ReviewAssignment(db.Model):
    """A reviewer assigned to an application; a declared conflict keeps the row but blocks the review."""

    __tablename__ = "review_assignment"
    __table_args__ = (UniqueConstraint("application_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("program_application.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    conflict_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conflict_reason: Mapped[str] = mapped_column(String(500), default="")
    # Set (with conflict_declared_at) when the portal withdrew the reviewer because a conflict of interest
    # appeared after the assignment (they joined the applicant organisation, say); NULL for a conflict the
    # reviewer declared themselves.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="assignments")
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    review: Mapped[ApplicationReview | None] = relationship(back_populates="assignment", uselist=False,
                                                 cascade="all, delete-orphan")


class Recommendation(Choice):
    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


class ApplicationReview(db.Model):
    """Scores 0-5 per criterion (criterion id -> score) plus a recommendation."""

    __tablename__ = "application_review"
    __table_args__ = (status_check(Recommendation, "recommendation", name="recommendation_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("review_assignment.id", ondelete="CASCADE"), unique=True)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    weighted_score: Mapped[float] = mapped_column()
    recommendation: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    assignment: Mapped[ReviewAssignment] = relationship(back_populates="review")


class ResourceCredit(db.Model):
    """Credits for the platform's labs and equipment, granted by an open-source program on acceptance."""

    __tablename__ = "resource_credit"
    __table_args__ = (UniqueConstraint("application_id"), CheckConstraint("amount > 0", name="amount_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("program_application.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---- incubation support ----------------------------------------------------------------------

class Milestone(db.Model):
    __tablename__ = "milestone"
    __table_args__ = (CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Kpi(db.Model):
    __tablename__ = "kpi"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    unit: Mapped[str] = mapped_column(String(20), default="")
    target: Mapped[int] = mapped_column()
    current: Mapped[int] = mapped_column(default=0)


class ProgressUpdate(db.Model):
    """A dated progress report: free text, optionally moving a milestone or a KPI."""

    __tablename__ = "progress_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestone.id", ondelete="SET NULL"))
    progress: Mapped[int | None] = mapped_column()
    kpi_id: Mapped[int | None] = mapped_column(ForeignKey("kpi.id", ondelete="SET NULL"))
    kpi_value: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()
    milestone: Mapped[Milestone | None] = relationship()
    kpi: Mapped[Kpi | None] = relationship()


class ChainStage(Choice):
    RND = "rnd"
    DESIGN = "design"
    MANUFACTURING = "manufacturing"
    SALES = "sales"
    LOGISTICS = "logistics"
    AFTER_SALES = "after_sales"


class SupportStatus(Status):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


# Company staff take a request (in progress) and close it.
SUPPORT_TRANSITIONS: dict[SupportStatus, tuple[SupportStatus, ...]] = {
    SupportStatus.OPEN: (SupportStatus.IN_PROGRESS, SupportStatus.CLOSED),
    SupportStatus.IN_PROGRESS: (SupportStatus.CLOSED,),
    SupportStatus.CLOSED: (),
}


class SupportRequest(db.Model):
    """A request for the anchor company's help at one stage of the chain, tracked to closure."""

    __tablename__ = "support_request"
    __table_args__ = (
        status_check(ChainStage, "stage", name="stage_valid"),
        status_check(SupportStatus, "status", name="status_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=SupportStatus.OPEN)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    resolution: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    project: Mapped[Project] = relationship()
    company: Mapped[Organisation] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


# ---- co-creation -----------------------------------------------------------------------------

class IdeaComment(db.Model):
    __tablename__ = "idea_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # hidden by moderators (portal.moderation)

    author: Mapped[User | None] = relationship()
