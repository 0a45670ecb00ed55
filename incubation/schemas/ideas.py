"""Ideas: posting, commenting, adopting; what the ideas API answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from portal.schemas import Command, Id, Out, line, text

# ---- ideas -----------------------------------------------------------------------------------------

class NewIdea(Command):
    title: line(160, min_length=1) = Field(description="the idea in one line")
    description: text(5000) = ""


class NewComment(Command):
    body: text(2000, min_length=1)


class Adoption(Command):
    project_id: Id = Field(description="a project of your startup that will build the idea")



class ProjectRef(Out):
    id: int
    title: str


class CommentOut(Out):
    id: int
    author: str | None = None
    body: str
    at: datetime | None


class IdeaOut(Out):
    id: int
    title: str
    description: str
    author: str | None
    votes: int = Field(ge=0)
    projects: list[ProjectRef]
    created_at: datetime | None
    comments: list[CommentOut] | None = Field(None, description="on GET /ideas/{idea_id} only")


class VoteOut(Out):
    idea_id: int
    votes: int = Field(ge=0)
