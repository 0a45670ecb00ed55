"""JSON API of incubation: ideas."""

from flask import jsonify
from flask_login import current_user

from incubation import services
from incubation.api.common import bp, project_json
from incubation.models import Idea, Project
from incubation.schemas.ideas import Adoption, CommentOut, IdeaOut, NewComment, NewIdea, VoteOut
from incubation.schemas.projects import ProjectOut
from portal.api import doc, iso, page_args, paged, read_body, require_login
from portal.moderation.services import shown
from portal.permissions import Permission, load

# ---- ideas -----------------------------------------------------------------------------------

def idea_json(idea: Idea, votes: int | None = None, with_comments: bool = False, projects=None) -> dict:
    """`votes` and `projects` given by a list (counted and loaded for its page at once)."""
    projects = services.projects_of_idea(idea) if projects is None else projects
    body = {"id": idea.id, "title": idea.title, "description": idea.description,
            "author": idea.author.name if idea.author else None,
            "votes": services.vote_count(idea) if votes is None else votes,
            "projects": [{"id": p.id, "title": p.title} for p in projects],
            "created_at": iso(idea.created_at)}
    if with_comments:
        body["comments"] = [{"id": c.id, "author": c.author.name if c.author else None, "body": c.body,
                             "at": iso(c.created_at)} for c in shown(current_user, services.comments_of(idea))]
    return body


@bp.get("/ideas")
@doc("Ideas, most voted first", auth=False, response=IdeaOut)
def idea_list():
    page, per_page = page_args()
    rows = services.ideas_with_votes(limit=per_page, offset=(page - 1) * per_page, viewer=current_user)
    projects = services.projects_of_ideas([idea.id for idea, _votes in rows])
    return jsonify(paged([idea_json(idea, votes, projects=projects[idea.id]) for idea, votes in rows],
                         services.idea_count(current_user), page, per_page))


@bp.get("/ideas/<int:idea_id>")
@doc("One idea with its comments and the projects that build it", auth=False, response=IdeaOut)
def idea_get(idea_id: int):
    return jsonify(idea_json(load(Idea, idea_id, Permission.VIEW), with_comments=True))


@bp.post("/ideas")
@doc("Post a product idea or need", body=NewIdea, response=IdeaOut)
def idea_create():
    require_login()
    idea = services.create_idea(current_user, read_body(NewIdea))
    return jsonify(idea_json(idea)), 201


@bp.post("/ideas/<int:idea_id>/votes")
@doc("Vote for an idea, once per user", responses={201: "Counted", 409: "Voted already"}, response=VoteOut)
def idea_vote(idea_id: int):
    require_login()
    idea = load(Idea, idea_id, Permission.VIEW)
    services.vote_for_idea(idea, current_user)
    return jsonify({"idea_id": idea.id, "votes": services.vote_count(idea)}), 201


@bp.post("/ideas/<int:idea_id>/comments")
@doc("Comment on an idea", body=NewComment, response=CommentOut)
def idea_comment(idea_id: int):
    require_login()
    idea = load(Idea, idea_id, Permission.VIEW)
    comment = services.comment_on_idea(idea, current_user, read_body(NewComment))
    return jsonify({"id": comment.id, "body": comment.body, "at": iso(comment.created_at)}), 201


@bp.post("/ideas/<int:idea_id>/adoptions")
@doc("Adopt the idea into a project of your startup; the voters are notified", body=Adoption, response=ProjectOut,
     responses={201: "Adopted", 409: "The project already builds an idea"})
def idea_adopt(idea_id: int):
    require_login()
    idea = load(Idea, idea_id, Permission.VIEW)
    command = read_body(Adoption)
    project = load(Project, command.project_id, Permission.EDIT)
    services.adopt_idea(idea, project, current_user)
    return jsonify(project_json(project)), 201
