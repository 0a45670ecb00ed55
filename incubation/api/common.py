"""The incubation API blueprint and the serializers its modules share."""


from incubation import services
from incubation.models import MentorProfile, Program, Project
from portal.api import api_blueprint, iso, money

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
        "cover_image_url": (f"/projects/{project.id}/cover" if project.cover_image_id else None),
        "nda_version": project.nda_version or None,
        "idea_id": project.idea_id,
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
        "questions": [{"id": q.id, "text": q.text, "required": q.required} for q in program.questions],
        "blind_review": program.blind_review,
        "published": program.published,
        "credits": (money(program.credit_amount, program.credit_currency) if program.credit_amount else None),
    }


def mentor_json(profile: MentorProfile, slots=None) -> dict:
    """`slots`: the free slots, when a list loaded them for its page at once."""
    slots = services.free_slots(profile) if slots is None else slots
    return {
        "id": profile.id,
        "user_id": profile.user_id,
        "name": profile.user.name,
        "bio": profile.bio,
        "expertise": list(profile.expertise or []),
        "industries": list(profile.industries or []),
        "languages": list(profile.languages or []),
        "organisation": profile.organisation or None,
        "rating": profile.rating,
        "ratings": profile.rating_count,
        "free_slots": [{"id": s.id, "start": iso(s.starts_at), "end": iso(s.ends_at)} for s in slots],
    }
