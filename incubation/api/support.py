"""JSON API of incubation: support."""

from flask import jsonify
from flask_login import current_user

from incubation import services
from incubation.api.common import bp
from incubation.models import Kpi, Milestone, Project, SupportRequest
from incubation.schemas.support import (
    KpiIn,
    KpiOut,
    MilestoneIn,
    MilestoneOut,
    NewSupportRequest,
    PostedOut,
    ProgressIn,
    ProgressOut,
    SupportQuery,
    SupportRequestOut,
    SupportUpdate,
)
from portal.api import doc, iso, paginate_list, read_body, read_query, require_login
from portal.permissions import Permission, can, load

# ---- incubation support ----------------------------------------------------------------------

def support_json(support: SupportRequest) -> dict:
    return {"id": support.id, "project_id": support.project_id, "company_id": support.company_id,
            "stage": support.stage, "title": support.title, "body": support.body, "status": support.status,
            "assignee": support.assignee.name if support.assignee else None, "resolution": support.resolution or None,
            "created_at": iso(support.created_at), "closed_at": iso(support.closed_at)}


@bp.get("/projects/<int:project_id>/progress")
@doc("Milestones, KPIs, progress updates and support requests of an incubating project", auth=False,
     response=ProgressOut)
def project_progress(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    insider = can(current_user, Permission.EDIT, project)
    body = {
        "milestones": [{"id": m.id, "title": m.title, "due_at": iso(m.due_at), "progress": m.progress,
                        "completed_at": iso(m.completed_at)} for m in services.milestones_of(project)],
        "kpis": [{"id": k.id, "name": k.name, "unit": k.unit, "target": k.target, "current": k.current}
                 for k in services.kpis_of(project)],
        "updates": [{"id": u.id, "body": u.body, "milestone_id": u.milestone_id, "progress": u.progress,
                     "kpi_id": u.kpi_id, "kpi_value": u.kpi_value, "at": iso(u.created_at)}
                    for u in services.progress_updates_of(project)],
    }
    if insider:
        body["support_requests"] = [support_json(s) for s in services.support_requests_of(project)]
    return jsonify(body)


@bp.post("/projects/<int:project_id>/milestones")
@doc("Add a milestone (founders of an accepted or incubating project)", body=MilestoneIn, response=MilestoneOut)
def milestone_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    milestone = services.add_milestone(project, read_body(MilestoneIn))
    return jsonify({"id": milestone.id, "title": milestone.title, "due_at": iso(milestone.due_at),
                    "progress": milestone.progress}), 201


@bp.post("/projects/<int:project_id>/kpis")
@doc("Add a KPI with its target (founders of an accepted or incubating project)", body=KpiIn, response=KpiOut)
def kpi_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    kpi = services.add_kpi(project, read_body(KpiIn))
    return jsonify({"id": kpi.id, "name": kpi.name, "unit": kpi.unit, "target": kpi.target,
                    "current": kpi.current}), 201


def milestone_json(milestone: Milestone) -> dict:
    return {"id": milestone.id, "title": milestone.title, "due_at": iso(milestone.due_at),
            "progress": milestone.progress, "completed_at": iso(milestone.completed_at)}


def kpi_json(kpi: Kpi) -> dict:
    return {"id": kpi.id, "name": kpi.name, "unit": kpi.unit, "target": kpi.target, "current": kpi.current}


@bp.put("/milestones/<int:milestone_id>")
@doc("Change a milestone's title and due date (founders of an accepted or incubating project)", body=MilestoneIn,
     response=MilestoneOut)
def milestone_update(milestone_id: int):
    require_login()
    milestone = load(Milestone, milestone_id, Permission.EDIT)
    services.update_milestone(milestone, current_user, read_body(MilestoneIn))
    return jsonify(milestone_json(milestone))


@bp.delete("/milestones/<int:milestone_id>")
@doc("Delete a milestone; progress updates that moved it stay (founders)", responses={204: "Deleted"})
def milestone_delete(milestone_id: int):
    require_login()
    services.delete_milestone(load(Milestone, milestone_id, Permission.EDIT), current_user)
    return "", 204


@bp.put("/kpis/<int:kpi_id>")
@doc("Change a KPI's name, unit and target (founders of an accepted or incubating project)", body=KpiIn,
     response=KpiOut, responses={200: "Updated", 409: "Another KPI has this name"})
def kpi_update(kpi_id: int):
    require_login()
    kpi = load(Kpi, kpi_id, Permission.EDIT)
    services.update_kpi(kpi, current_user, read_body(KpiIn))
    return jsonify(kpi_json(kpi))


@bp.delete("/kpis/<int:kpi_id>")
@doc("Delete a KPI; progress updates that moved it stay (founders)", responses={204: "Deleted"})
def kpi_delete(kpi_id: int):
    require_login()
    services.delete_kpi(load(Kpi, kpi_id, Permission.EDIT), current_user)
    return "", 204


@bp.post("/projects/<int:project_id>/progress")
@doc("Post a progress update, optionally moving a milestone (progress %) or a KPI (value)", body=ProgressIn,
     response=PostedOut)
def progress_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    command = read_body(ProgressIn)
    milestone = load(Milestone, command.milestone_id, Permission.EDIT) if command.milestone_id else None
    kpi = load(Kpi, command.kpi_id, Permission.EDIT) if command.kpi_id else None
    update_row = services.post_progress(project, current_user, command, milestone=milestone, kpi=kpi)
    return jsonify({"id": update_row.id, "at": iso(update_row.created_at)}), 201


@bp.post("/projects/<int:project_id>/support-requests")
@doc("Ask the anchor company for help at a stage of the chain (rnd, design, manufacturing, sales, logistics, "
     "after_sales)", body=NewSupportRequest, response=SupportRequestOut,
     responses={201: "Routed to the company's staff", 409: "No anchor company yet"})
def support_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    support = services.open_support_request(project, current_user, read_body(NewSupportRequest))
    return jsonify(support_json(support)), 201


@bp.get("/support-requests")
@doc("Open support requests routed to your companies", query=SupportQuery, response=SupportRequestOut)
def support_list():
    require_login()
    args = read_query(SupportQuery)
    own = services.member_organisation_ids(current_user)
    items = services.support_requests_for_company(own, open_only=not args.all)
    return jsonify(paginate_list(items, support_json))


@bp.post("/support-requests/<int:support_id>/status")
@doc("Take a support request (in_progress) or close it with a resolution (the company's staff)",
     body=SupportUpdate, response=SupportRequestOut, responses={200: "Updated", 409: "Not from the current status"})
def support_update(support_id: int):
    require_login()
    support = load(SupportRequest, support_id, Permission.MANAGE)
    services.update_support_request(support, current_user, read_body(SupportUpdate))
    return jsonify(support_json(support))
