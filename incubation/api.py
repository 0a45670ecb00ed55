"""JSON API of incubation: projects (list, read, create, submit), programs and mentors."""

from flask import abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from incubation import services
from incubation.forms import ProjectForm
from incubation.models import IncubationMode, MentorProfile, Program, Project, ProjectStatus
from portal.api import api_blueprint, doc, iso, money, paginate, paginate_list, parse, require_login
from portal.errors import ValidationFailed
from portal.organisations.models import Organisation
from portal.permissions import Permission, load

bp = api_blueprint("incubation_api", __name__)


def project_json(project: Project) -> dict:
    return {
        "id": project.id,
        "organisation_id": project.organisation_id,
        "organisation": {"id": project.organisation.id, "name": project.organisation.name},
        "title": project.title,
        "summary": project.summary,
        "description": project.description,
        "problem": project.problem,
        "solution": project.solution,
        "market": project.market,
        "business_model": project.business_model,
        "team": project.team,
        "industry": project.industry,
        "stage": project.stage,
        "mode": project.mode,
        "status": project.status,
        "funding_sought": (money(project.funding_sought_amount, project.currency)
                           if project.funding_sought_amount is not None else None),
        "video_url": project.video_url or None,
        "created_at": iso(project.created_at),
        "updated_at": iso(project.updated_at),
    }


def program_json(program: Program) -> dict:
    return {
        "id": program.id,
        "organisation_id": program.organisation_id,
        "organisation": {"id": program.organisation.id, "name": program.organisation.name},
        "title": program.title,
        "description": program.description,
        "mode": program.mode,
        "opens_at": iso(program.opens_at),
        "closes_at": iso(program.closes_at),
        "capacity": program.capacity,
        "is_open": program.is_open(),
        "criteria": [{"name": c.name, "weight": c.weight} for c in program.criteria],
    }


def mentor_json(profile: MentorProfile) -> dict:
    return {
        "id": profile.id,
        "user_id": profile.user_id,
        "name": profile.user.name,
        "bio": profile.bio,
        "expertise": list(profile.expertise or []),
        "industries": list(profile.industries or []),
        "languages": list(profile.languages or []),
        "organisation": profile.organisation or None,
        "free_slots": [{"id": s.id, "start": iso(s.starts_at), "end": iso(s.ends_at)}
                       for s in services.free_slots(profile)],
    }


def _choice_arg(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if not value:
        return None
    if value not in allowed:
        raise ValidationFailed.field(name, _("Choose one of: %(choices)s", choices=", ".join(allowed)))
    return value


# ---- projects --------------------------------------------------------------------------------

@bp.get("/projects")
@doc("List projects: every submitted project, plus drafts of your own organisations", auth=False,
     query={"status": "project status", "industry": "exact industry", "mode": "incubation mode",
            "organisation_id": "only this organisation's projects"})
def project_list():
    stmt = services.visible_projects(current_user)
    status = _choice_arg("status", ProjectStatus.ALL)
    mode = _choice_arg("mode", IncubationMode.ALL)
    if status:
        stmt = stmt.where(Project.status == status)
    if mode:
        stmt = stmt.where(Project.mode == mode)
    if request.args.get("industry"):
        stmt = stmt.where(Project.industry == request.args["industry"])
    if request.args.get("organisation_id", "").isdigit():
        stmt = stmt.where(Project.organisation_id == int(request.args["organisation_id"]))
    return jsonify(paginate(stmt.order_by(Project.updated_at.desc(), Project.id.desc()), project_json))


@bp.post("/projects")
@doc("Create a draft project for a startup you are a member of", form=ProjectForm,
     responses={201: "Created with status draft", 403: "Not a member of the organisation"})
def project_create():
    require_login()
    form = parse(ProjectForm)
    organisation = load(Organisation, form.organisation_id.data, Permission.VIEW)
    if not services.can_create_project(current_user, organisation):
        abort(403)
    sought = form.funding_sought.form
    project = services.create_project(
        organisation, current_user, title=form.title.data, summary=form.summary.data, industry=form.industry.data,
        stage=form.stage.data, mode=form.mode.data, funding_sought_amount=sought.amount.data,
        currency=sought.currency.data or "CNY", **form.text_fields())
    return jsonify(project_json(project)), 201


@bp.get("/projects/<int:project_id>")
@doc("One project (drafts only for their organisation's members)", auth=False)
def project_get(project_id: int):
    return jsonify(project_json(load(Project, project_id, Permission.VIEW)))


@bp.post("/projects/<int:project_id>/submit")
@doc("Submit a draft (or a project sent back for information) for screening",
     responses={200: "Submitted", 409: "The project cannot be submitted in its current status"})
def project_submit(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    services.submit_project(project)
    return jsonify(project_json(project))


# ---- programs and mentors --------------------------------------------------------------------

@bp.get("/programs")
@doc("List incubation programs", auth=False, query={"open": "1: only programs open for applications now",
                                                      "organisation_id": "only this company's programs"})
def program_list():
    stmt = services.open_programs_stmt() if request.args.get("open") in ("1", "true") else (
        select(Program).order_by(Program.closes_at.desc()))
    if request.args.get("organisation_id", "").isdigit():
        stmt = stmt.where(Program.organisation_id == int(request.args["organisation_id"]))
    return jsonify(paginate(stmt, program_json))


@bp.get("/programs/<int:program_id>")
@doc("One incubation program with its review criteria", auth=False)
def program_get(program_id: int):
    return jsonify(program_json(load(Program, program_id, Permission.VIEW)))


@bp.get("/mentors")
@doc("List mentors", auth=False, query={"expertise": "text contained in an expertise",
                                        "language": "language code, e.g. zh or en"})
def mentor_list():
    mentors = services.search_mentors(request.args.get("expertise", ""), request.args.get("language", ""))
    return jsonify(paginate_list(mentors, mentor_json))


@bp.get("/mentors/<int:profile_id>")
@doc("One mentor with their free office-hour slots", auth=False)
def mentor_get(profile_id: int):
    return jsonify(mentor_json(load(MentorProfile, profile_id, Permission.VIEW)))
