"""Platform administration: roles, organisation verification."""

from __future__ import annotations

from typing import Literal

from portal.schemas import Command, line


class RoleChange(Command):
    """An admin grants or revokes a role."""

    role: Literal["founder", "company", "mentor", "backer", "admin"]
    action: Literal["grant", "revoke"]


class Verification(Command):
    """A platform admin verifies or unverifies an organisation; the note goes into the audit log."""

    verified: bool
    note: line(500) = ""
