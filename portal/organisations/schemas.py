"""Organisations: creating and editing them, inviting members, verification; what their API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlparse

from flask_babel import gettext as _
from pydantic import AfterValidator, Field

from portal.schemas import Command, Email, Out, Query, line, text

Kind = Literal["startup", "company"]
MemberRoleName = Literal["owner", "member"]


def _website(value: str) -> str:
    """Empty, or an http(s) address with a host (and no `user@` in front of it)."""
    if not value:
        return value
    try:
        parts = urlparse(value)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc
            or " " in value):
        raise ValueError(_("Use a web address starting with http:// or https://."))
    return value


Website = Annotated[line(255), AfterValidator(_website), Field(examples=["https://example.com"])]


class OrganisationChanges(Command):
    """The editable fields of an organisation (its kind never changes)."""

    name: line(160, min_length=1)
    description: text(5000) = ""
    city: line(80) = ""
    website: Website = ""


class NewOrganisation(OrganisationChanges):
    kind: Kind


class MemberInvite(Command):
    email: Email
    role: MemberRoleName


class OrganisationFilter(Query):
    kind: Kind | None = Field(None, description="startup or company")


# ---- what the API answers -------------------------------------------------------------------------

class MemberOut(Out):
    user_id: int
    name: str
    email: str
    role: str


class OrganisationOut(Out):
    id: int
    name: str
    kind: str
    description: str
    city: str
    website: str
    verified: bool
    members: list[MemberOut] | None = Field(None, description="listed for members of the organisation only")


class OrganisationRef(Out):
    id: int
    name: str
    kind: str
    verified: bool


class InvitationOut(Out):
    id: int
    status: Literal["invited", "accepted", "declined", "expired"]
    email: str
    role: str
    organisation: OrganisationRef
    invited_by: str | None
    created_at: datetime | None
    expires_at: datetime | None
