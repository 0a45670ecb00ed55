"""HTML pages of incubation: support."""


from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from incubation import services
from incubation.forms import KpiForm, MilestoneForm, ProgressForm, SupportRequestForm, SupportUpdateForm
from incubation.models import Kpi, Milestone, Project, SupportRequest
from incubation.schemas.support import KpiIn, MilestoneIn, NewSupportRequest, ProgressIn, SupportUpdate
from incubation.views.common import back_to_project, bp, form_failed, run_action
from portal.auth.forms import EmptyForm
from portal.permissions import Permission, load
from portal.schemas import from_form

# ---- incubation support ----------------------------------------------------------------------

@bp.post("/projects/<int:project_id>/milestones")
@login_required
def milestone_create(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = MilestoneForm()
    if form.validate_on_submit():
        run_action(lambda: services.add_milestone(project, from_form(MilestoneIn, form)), _("Milestone added."))
    else:
        form_failed(form)
    return back_to_project(project, "progress-section")


@bp.post("/projects/<int:project_id>/kpis")
@login_required
def kpi_create(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = KpiForm()
    if form.validate_on_submit():
        run_action(lambda: services.add_kpi(project, from_form(KpiIn, form)), _("KPI added."))
    else:
        form_failed(form)
    return back_to_project(project, "progress-section")


@bp.post("/milestones/<int:milestone_id>/edit")
@login_required
def milestone_edit(milestone_id: int):
    milestone = load(Milestone, milestone_id, Permission.EDIT)
    form = MilestoneForm()
    if form.validate_on_submit():
        run_action(lambda: services.update_milestone(milestone, current_user, from_form(MilestoneIn, form)),
                   _("Milestone saved."))
    else:
        form_failed(form)
    return redirect(url_for("incubation.project_detail", project_id=milestone.project_id) + "#progress-section")


@bp.post("/milestones/<int:milestone_id>/delete")
@login_required
def milestone_delete(milestone_id: int):
    milestone = load(Milestone, milestone_id, Permission.EDIT)
    project_id = milestone.project_id
    if EmptyForm().validate_on_submit():
        run_action(lambda: services.delete_milestone(milestone, current_user), _("Milestone deleted."))
    return redirect(url_for("incubation.project_detail", project_id=project_id) + "#progress-section")


@bp.post("/kpis/<int:kpi_id>/edit")
@login_required
def kpi_edit(kpi_id: int):
    kpi = load(Kpi, kpi_id, Permission.EDIT)
    form = KpiForm()
    if form.validate_on_submit():
        run_action(lambda: services.update_kpi(kpi, current_user, from_form(KpiIn, form)), _("KPI saved."))
    else:
        form_failed(form)
    return redirect(url_for("incubation.project_detail", project_id=kpi.project_id) + "#progress-section")


@bp.post("/kpis/<int:kpi_id>/delete")
@login_required
def kpi_delete(kpi_id: int):
    kpi = load(Kpi, kpi_id, Permission.EDIT)
    project_id = kpi.project_id
    if EmptyForm().validate_on_submit():
        run_action(lambda: services.delete_kpi(kpi, current_user), _("KPI deleted."))
    return redirect(url_for("incubation.project_detail", project_id=project_id) + "#progress-section")


@bp.post("/projects/<int:project_id>/progress")
@login_required
def progress_create(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = ProgressForm()
    if form.validate_on_submit():
        milestone = load(Milestone, form.milestone_id.data, Permission.EDIT) if form.milestone_id.data else None
        kpi = load(Kpi, form.kpi_id.data, Permission.EDIT) if form.kpi_id.data else None
        run_action(lambda: services.post_progress(project, current_user, from_form(ProgressIn, form),
                                                  milestone=milestone, kpi=kpi), _("Progress posted."))
    else:
        form_failed(form)
    return back_to_project(project, "progress-section")


@bp.post("/projects/<int:project_id>/support-requests")
@login_required
def support_create(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = SupportRequestForm()
    if form.validate_on_submit():
        run_action(lambda: services.open_support_request(project, current_user, from_form(NewSupportRequest, form)),
                   _("Support request sent to the anchor company."))
    else:
        form_failed(form)
    return back_to_project(project, "support-section")


@bp.get("/support/")
@login_required
def support_index():
    own = services.member_organisation_ids(current_user)
    return render_template("incubation/support_index.html",
                           requests=services.support_requests_for_company(own, open_only=False),
                           form=SupportUpdateForm())


@bp.post("/support-requests/<int:support_id>/status")
@login_required
def support_update(support_id: int):
    support = load(SupportRequest, support_id, Permission.MANAGE)
    form = SupportUpdateForm()
    if form.validate_on_submit():
        run_action(lambda: services.update_support_request(support, current_user, from_form(SupportUpdate, form)),
                   _("Support request updated."))
    else:
        form_failed(form)
    return redirect(url_for("incubation.support_index"))
