"""Projects: creation, editing, the lifecycle, the NDA, former employment; what the projects API answers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import AfterValidator, Field

from incubation.models import IncubationMode, ProjectStage, ProjectStatus
from portal.schemas import Command, Count, Currency, Id, Minor, MoneyOut, Out, Query, line, text

Stage = Literal[ProjectStage.values()]  # type: ignore[valid-type]
Mode = Literal[IncubationMode.values()]  # type: ignore[valid-type]
StatusName = Literal[ProjectStatus.values()]  # type: ignore[valid-type]

_URL = re.compile(r"^https?://[^\s/:?#]+\.[^\s/:?#]+(:\d+)?([/?#]\S*)?$", re.IGNORECASE)


def _url(value: str) -> str:
    if value and not _URL.match(value):
        raise ValueError(_("Invalid URL."))
    return value


Url = Annotated[line(255), AfterValidator(_url)]  # "" for none (as the form's Optional(), URL())


class MoneyIn(Command):
    """`{amount, currency}`: integer minor units and an ISO 4217 code."""

    amount: Minor | None = None
    currency: Currency = "CNY"


# ---- commands --------------------------------------------------------------------------------------

class ProjectPitch(Command):
    """The pitch texts a project is created with; none is required."""

    description: text(10000) = ""
    problem: text(5000) = ""
    solution: text(5000) = ""
    market: text(5000) = ""
    business_model: text(5000) = ""
    team: text(5000) = ""
    video_url: Url = ""


class ProjectDraft(ProjectPitch):
    """What `create_project` takes (the organisation is loaded by the caller)."""

    title: line(160, min_length=1)
    summary: line(280) = ""
    industry: line(80) = ""
    stage: Stage = ProjectStage.IDEA
    mode: Mode = IncubationMode.OPEN_SOURCE
    funding_sought: MoneyIn | None = None


class NewProject(ProjectDraft):
    """POST /projects (and the page's form): the organisation, and a summary, industry, stage and mode."""

    organisation_id: Id = Field(description="a startup you are a member of")
    summary: line(280, min_length=1)
    industry: line(80, min_length=1)
    stage: Stage
    mode: Mode


def _no_default(schema: dict) -> None:
    schema.pop("default", None)


def unsent() -> Any:
    """The default of a PATCH field that may be left out but is never null (not shown as a default)."""
    return Field(None, json_schema_extra=_no_default)


class ProjectPatch(Command):
    """PATCH a project: only the fields sent change (`funding_sought: null` clears the amount)."""

    title: line(160, min_length=1) = unsent()
    summary: line(280) = unsent()
    industry: line(80) = unsent()
    stage: Stage = unsent()
    mode: Mode = unsent()
    description: text(10000) | None = None
    problem: text(5000) | None = None
    solution: text(5000) | None = None
    market: text(5000) | None = None
    business_model: text(5000) | None = None
    team: text(5000) | None = None
    video_url: Url | None = None
    funding_sought: MoneyIn | None = None


class Transition(Command):
    status: StatusName = Field(description="the status to move to")
    note: text(5000) = ""


class NdaText(Command):
    nda_text: text(20000, min_length=1)


class NdaAccept(Command):
    version: Count | None = Field(None, description="the version you read; a newer one is a 409")


class FormerEmploymentClaim(Command):
    company_id: Id = Field(description="an anchor company")
    position: line(120) = ""
    years: line(20) = ""


class ProjectQuery(Query):
    status: StatusName | None = None
    mode: Mode | None = None
    industry: line(80) | None = Field(None, description="exact industry")
    organisation_id: Id | None = Field(None, description="only this organisation's projects")


# ---- what the API answers --------------------------------------------------------------------------

class OrganisationRef(Out):
    id: int
    name: str


class CreditBalanceOut(Out):
    company_id: int
    company: str
    granted: MoneyOut
    used: MoneyOut
    available: MoneyOut


class ProjectOut(Out):
    id: int
    organisation_id: int
    organisation: OrganisationRef
    title: str
    summary: str
    description: str
    problem: str
    solution: str
    market: str
    business_model: str
    team: str
    industry: str
    stage: str
    mode: str
    status: str
    funding_sought: MoneyOut | None
    video_url: str | None
    cover_image_url: str | None
    nda_version: int | None
    idea_id: int | None
    created_at: datetime | None
    updated_at: datetime | None
    resource_credits: list[CreditBalanceOut] | None = Field(
        None, description="on GET /projects/{project_id}, for the startup's members only")


class EventOut(Out):
    id: int
    kind: str
    from_: str | None = Field(alias="from")
    to: str | None
    note: str
    actor: str | None
    at: datetime | None


class FormerEmploymentOut(Out):
    id: int
    user_id: int
    company_id: int
    company: str
    position: str
    years: str
    verified: bool
    verified_at: datetime | None
