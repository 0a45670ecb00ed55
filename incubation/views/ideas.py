"""HTML pages of incubation: ideas."""


from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from incubation import services
from incubation.forms import AdoptPageForm, CommentForm, IdeaForm
from incubation.models import OPEN_STATUSES, Idea, Project
from incubation.schemas.ideas import NewComment, NewIdea
from incubation.views.common import back_to_project, bp, form_failed, run_action
from portal.auth.forms import EmptyForm
from portal.errors import PortalError
from portal.forms import attach_errors
from portal.paging import ListPage
from portal.permissions import Permission, load
from portal.schemas import from_form

# ---- ideas -----------------------------------------------------------------------------------

@bp.route("/ideas/", methods=["GET", "POST"])
def idea_index():
    form = IdeaForm()
    if request.method == "POST":
        if not current_user.is_authenticated:
            abort(401)
        if form.validate_on_submit():
            try:
                services.create_idea(current_user, from_form(NewIdea, form))
            except PortalError as error:
                attach_errors(form, error)
            else:
                flash(_("Thanks! Your idea is posted."), "success")
                return redirect(url_for("incubation.idea_index"))
    number = max(1, request.args.get("page", 1, type=int) or 1)
    ideas = services.ideas_with_votes(limit=IDEAS_PER_PAGE, offset=(number - 1) * IDEAS_PER_PAGE, viewer=current_user)
    page = ListPage(ideas, number, IDEAS_PER_PAGE, services.idea_count(current_user))
    return render_template("incubation/idea_index.html", form=form, ideas=ideas, page=page,
                           voted=services.voted_idea_ids(current_user), action_form=EmptyForm())


IDEAS_PER_PAGE = 20


@bp.post("/ideas/<int:idea_id>/vote")
@login_required
def idea_vote(idea_id: int):
    idea = load(Idea, idea_id, Permission.VIEW)
    if EmptyForm().validate_on_submit():
        try:
            services.vote_for_idea(idea, current_user)
        except PortalError as error:
            flash(error.message, "warning")
        else:
            flash(_("Vote counted."), "success")
    return redirect(url_for("incubation.idea_index"))


# ---- ideas -----------------------------------------------------------------------------------

@bp.get("/ideas/<int:idea_id>")
def idea_detail(idea_id: int):
    idea = load(Idea, idea_id, Permission.VIEW)
    adopt_form = AdoptPageForm()
    own_projects = [p for p in services.projects_of(current_user) if p.idea_id is None
                    and p.status in OPEN_STATUSES] if current_user.is_authenticated else []
    adopt_form.project_id.choices = [(p.id, p.title) for p in own_projects]
    return render_template("incubation/idea_detail.html", idea=idea, votes=services.vote_count(idea),
                           comments=services.comments_of(idea), projects=services.projects_of_idea(idea),
                           comment_form=CommentForm(), adopt_form=adopt_form, action_form=EmptyForm(),
                           voted=idea.id in services.voted_idea_ids(current_user))


@bp.post("/ideas/<int:idea_id>/comments")
@login_required
def idea_comment(idea_id: int):
    idea = load(Idea, idea_id, Permission.VIEW)
    form = CommentForm()
    if form.validate_on_submit():
        run_action(lambda: services.comment_on_idea(idea, current_user, from_form(NewComment, form)),
             _("Comment posted."))
    else:
        form_failed(form)
    return redirect(url_for("incubation.idea_detail", idea_id=idea.id))


@bp.post("/ideas/<int:idea_id>/adopt")
@login_required
def idea_adopt(idea_id: int):
    idea = load(Idea, idea_id, Permission.VIEW)
    form = AdoptPageForm()
    form.project_id.choices = [(p.id, p.title) for p in services.projects_of(current_user)]
    if form.validate_on_submit():
        project = load(Project, form.project_id.data, Permission.EDIT)
        if run_action(lambda: services.adopt_idea(idea, project, current_user), _("Idea adopted. Its voters are told.")):
            return back_to_project(project)
    else:
        form_failed(form)
    return redirect(url_for("incubation.idea_detail", idea_id=idea.id))
