"""Co-creation ideas: ideas, votes, comments, and adoption by a project."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from incubation.models import (
    OPEN_STATUSES,
    PRIVATE_PROJECT_STATUSES,
    Idea,
    IdeaComment,
    IdeaVote,
    Project,
)
from incubation.schemas.ideas import NewComment, NewIdea
from incubation.services.projects import add_timeline_note
from portal import audit
from portal.auth.models import User
from portal.errors import Conflict
from portal.extensions import db
from portal.mail import send_to_users
from portal.urls import external_url

# ---- ideas -----------------------------------------------------------------------------------

def create_idea(author: User, command: NewIdea) -> Idea:
    idea = Idea(author_id=author.id, title=command.title, description=command.description)
    db.session.add(idea)
    db.session.flush()
    return idea


def vote_for_idea(idea: Idea, user: User) -> IdeaVote:
    existing = db.session.scalar(select(IdeaVote.id).where(IdeaVote.idea_id == idea.id, IdeaVote.user_id == user.id))
    if existing is not None:
        raise Conflict(_("You have already voted for this idea."))
    vote = IdeaVote(idea_id=idea.id, user_id=user.id)
    db.session.add(vote)
    db.session.flush()
    return vote


def _visible_ideas(viewer: User | None):
    """Ideas `viewer` may see in a list: not hidden by moderators, unless they are the author or an admin."""
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        if viewer.is_admin:
            return None
        return or_(Idea.hidden_at.is_(None), Idea.author_id == viewer.id)
    return Idea.hidden_at.is_(None)


def ideas_with_votes(limit: int | None = None, offset: int = 0,
                     viewer: User | None = None) -> list[tuple[Idea, int]]:
    """Ideas with their vote counts, most voted first, in one query (authors loaded with them): one page
    of them with `limit`/`offset`."""
    votes = func.count(IdeaVote.id)
    stmt = (select(Idea, votes).outerjoin(IdeaVote, IdeaVote.idea_id == Idea.id).group_by(Idea.id)
            .options(selectinload(Idea.author)).order_by(votes.desc(), Idea.created_at.desc(), Idea.id.desc()))
    visible = _visible_ideas(viewer)
    if visible is not None:
        stmt = stmt.where(visible)
    if limit:
        stmt = stmt.limit(limit).offset(offset)
    return [(idea, count) for idea, count in db.session.execute(stmt).all()]


def idea_count(viewer: User | None = None) -> int:
    visible = _visible_ideas(viewer)
    stmt = select(func.count()).select_from(Idea)
    return db.session.scalar(stmt.where(visible) if visible is not None else stmt) or 0


def projects_of_ideas(idea_ids: list[int]) -> dict[int, list[Project]]:
    """`projects_of_idea` for a page of ideas in one statement."""
    found: dict[int, list[Project]] = {idea_id: [] for idea_id in idea_ids}
    if idea_ids:
        for project in db.session.scalars(select(Project).where(
                Project.idea_id.in_(idea_ids), Project.status.not_in(PRIVATE_PROJECT_STATUSES)).order_by(Project.id)):
            found[project.idea_id].append(project)
    return found


def voted_idea_ids(user: User | None) -> set[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return set(db.session.scalars(select(IdeaVote.idea_id).where(IdeaVote.user_id == user.id)))


# ---- co-creation -----------------------------------------------------------------------------

def comment_on_idea(idea: Idea, user: User, command: NewComment) -> IdeaComment:
    comment = IdeaComment(idea_id=idea.id, author_id=user.id, body=command.body)
    db.session.add(comment)
    db.session.flush()
    if idea.author is not None and idea.author.id != user.id:  # the idea's author hears of it
        link = external_url("incubation.idea_detail", idea_id=idea.id) + f"#comment-{comment.id}"
        send_to_users([idea.author], lambda: (
            _("New comment on your idea %(title)s", title=idea.title),
            _("%(name)s wrote: %(comment)s\n\n%(link)s", name=user.name, comment=comment.body[:2000], link=link)),
            kind="idea.comment", link=link)
    return comment


def comments_of(idea: Idea) -> list[IdeaComment]:
    return list(db.session.scalars(select(IdeaComment).where(IdeaComment.idea_id == idea.id)
                                   .order_by(IdeaComment.created_at, IdeaComment.id)))


def vote_count(idea: Idea) -> int:
    return db.session.scalar(select(func.count()).select_from(IdeaVote).where(IdeaVote.idea_id == idea.id)) or 0


def adopt_idea(idea: Idea, project: Project, user: User) -> Project:
    """A founder builds the idea in a project: the link is kept, and the voters hear about it."""
    if project.idea_id is not None:
        raise Conflict(_("This project already builds an idea."), {"project_id": [str(project.id)]})
    if project.status not in OPEN_STATUSES:
        raise Conflict(_("A closed project cannot adopt an idea."), {"status": [project.status]})
    project.idea_id = idea.id
    db.session.flush()
    add_timeline_note(project, "idea_adopted", _("Adopted the idea: %(title)s", title=idea.title), user)
    audit.record("idea.adopted", idea, after={"project_id": project.id}, actor_id=user.id)
    voters = list(db.session.scalars(select(User).join(IdeaVote, IdeaVote.user_id == User.id)
                                     .where(IdeaVote.idea_id == idea.id)))
    if idea.author is not None:
        voters.append(idea.author)
    send_to_users([v for v in voters if v.id != user.id], lambda: (
        _("An idea you backed is being built"),
        _("%(project)s adopted the idea \"%(idea)s\" and is building it.", project=project.title,
          idea=idea.title)), kind="idea.adopted",
        link=external_url("incubation.project_detail", project_id=project.id))
    return project


def projects_of_idea(idea: Idea) -> list[Project]:
    return list(db.session.scalars(select(Project).where(Project.idea_id == idea.id,
                                                         Project.status.not_in(PRIVATE_PROJECT_STATUSES))))
