"""Incubation support: milestones, KPIs, progress updates, support requests; what the support API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask_babel import gettext as _
from pydantic import Field, ValidationInfo, field_validator

from incubation.models import ChainStage, SupportStatus
from incubation.schemas.mentors import Moment
from portal.schemas import Command, Count, Flag, Id, Out, Query, line, text

ChainStageName = Literal[ChainStage.values()]  # type: ignore[valid-type]


# ---- commands --------------------------------------------------------------------------------------

class MilestoneIn(Command):
    title: line(160, min_length=1)
    due_at: Moment | None = None


class KpiIn(Command):
    name: line(80, min_length=1)
    unit: line(20) = ""
    target: Count


class ProgressIn(Command):
    body: text(5000, min_length=1)
    milestone_id: Id | None = None
    progress: int | None = Field(None, ge=0, le=100, description="the milestone's progress in %")
    kpi_id: Id | None = None
    kpi_value: Count | None = Field(None, description="the KPI's new value")

    @field_validator("progress")
    @classmethod
    def needs_milestone(cls, progress: int | None, info: ValidationInfo) -> int | None:
        if progress is not None and info.data.get("milestone_id") is None:
            raise ValueError(_("A percentage from 0 to 100 for a milestone."))
        return progress

    @field_validator("kpi_value")
    @classmethod
    def needs_kpi(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("kpi_id") is None:
            raise ValueError(_("A non-negative value for a KPI."))
        return value


class NewSupportRequest(Command):
    stage: ChainStageName = Field(description="the stage of the chain")
    title: line(160, min_length=1)
    body: text(5000) = ""


class SupportUpdate(Command):
    status: Literal[SupportStatus.IN_PROGRESS, SupportStatus.CLOSED]  # type: ignore[valid-type]
    resolution: text(5000) = Field("", validate_default=True, description="required to close")

    @field_validator("resolution")
    @classmethod
    def closing_says_how(cls, resolution: str, info: ValidationInfo) -> str:
        if info.data.get("status") == SupportStatus.CLOSED and not resolution:
            raise ValueError(_("Say how the request was resolved."))
        return resolution


class SupportQuery(Query):
    all: Flag = Field(False, description="closed ones too")


# ---- what the API answers --------------------------------------------------------------------------

class MilestoneOut(Out):
    id: int
    title: str
    due_at: datetime | None
    progress: int
    completed_at: datetime | None = None


class KpiOut(Out):
    id: int
    name: str
    unit: str
    target: int
    current: int


class ProgressUpdateOut(Out):
    id: int
    body: str
    milestone_id: int | None
    progress: int | None
    kpi_id: int | None
    kpi_value: int | None
    at: datetime | None


class PostedOut(Out):
    id: int
    at: datetime | None


class SupportRequestOut(Out):
    id: int
    project_id: int
    company_id: int
    stage: str
    title: str
    body: str
    status: str
    assignee: str | None
    resolution: str | None
    created_at: datetime | None
    closed_at: datetime | None


class ProgressOut(Out):
    milestones: list[MilestoneOut]
    kpis: list[KpiOut]
    updates: list[ProgressUpdateOut]
    support_requests: list[SupportRequestOut] | None = Field(None, description="the project's team and managers")
