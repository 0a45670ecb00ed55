"""Accounts: registration, login and tokens, password reset, profile; what the accounts API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask_babel import gettext as _
from pydantic import Field, StringConstraints, field_validator

from portal.auth.models import SELF_SERVICE_ROLES
from portal.schemas import Command, Email, Out, line

SELF_SERVICE = tuple(str(role) for role in SELF_SERVICE_ROLES)  # the roles chosen at sign-up

# Passwords are taken exactly as typed: no stripping, no normalisation (the hash must match next time).
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Locale = Literal["en", "zh_CN"]


class Credentials(Command):
    """Email and password (the login page; the address as typed: it is normalised when looked up)."""

    email: line(254, min_length=1)
    password: Password


class TokenRequest(Credentials):
    name: line(80) = Field("", description="a name to recognise the token by (default: API token)")


class NewToken(Command):
    name: line(80, min_length=1)


class Registration(Command):
    email: Email
    password: Password = Field(description="at least 10 characters, not the email address")
    name: line(120, min_length=1)
    roles: Annotated[list[str], Field(min_length=1, max_length=len(SELF_SERVICE),
                                      json_schema_extra={"items": {"type": "string", "enum": list(SELF_SERVICE)}})]
    locale: Locale | None = None

    @field_validator("roles")
    @classmethod
    def self_service_roles(cls, roles: list[str]) -> list[str]:
        unknown = [role for role in roles if role not in SELF_SERVICE]
        if unknown:
            raise ValueError(_("Unknown role: %(role)s", role=", ".join(unknown)))
        return sorted(set(roles))


class PasswordResetRequest(Command):
    email: Email


class PasswordReset(Command):
    password: Password


class PasswordChange(Command):
    current_password: Password
    password: Password


class LocaleChoice(Command):
    locale: Locale


# ---- what the API answers -------------------------------------------------------------------------

class MembershipOut(Out):
    id: int
    name: str
    kind: str
    role: str


class UserOut(Out):
    id: int
    email: str
    name: str
    roles: list[str]
    locale: str | None
    email_confirmed: bool
    organisations: list[MembershipOut] | None = Field(None, description="on /me and after registration")


class TokenCreatedOut(Out):
    id: int
    token: str = Field(description="the secret, shown this once")
    name: str


class TokenOut(Out):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
