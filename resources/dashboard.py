"""The company staff's dashboard panel and the home-page count."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.extensions import db
from portal.main.dashboard import Panel, panel, stat
from resources import services
from resources.models import Resource


@panel
def company_resources_panel(user) -> Panel | None:
    companies = services.publishable_organisations(user)
    if not companies:
        return None
    return Panel(_l("Your labs and equipment"), "resources/panels/company.html",
                 {"resources": services.resources_of_member(user), "companies": companies}, order=20)


@stat
def resource_stat() -> tuple[str, int]:
    count = db.session.scalar(select(func.count()).select_from(Resource).where(Resource.published.is_(True)))
    return str(_l("labs and machines")), count or 0
