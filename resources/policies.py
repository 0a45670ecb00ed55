"""Who may see and change resources. Prices and published resources are public."""

from portal.organisations.models import Organisation, OrganisationKind
from portal.organisations.services import role_in
from portal.permissions import Permission, policy
from resources.models import Resource

# On an Organisation: may publish labs and equipment for it (any member of an anchor company).
PUBLISH_RESOURCES = "publish_resources"


def is_company_staff(user, organisation: Organisation) -> bool:
    return organisation.kind == OrganisationKind.COMPANY and role_in(user, organisation.id) is not None


@policy(Organisation, PUBLISH_RESOURCES)
def publish_for_company(user, organisation: Organisation) -> bool:
    return is_company_staff(user, organisation)


@policy(Resource, Permission.EDIT)
def resource_staff(user, resource: Resource) -> bool:
    return is_company_staff(user, resource.organisation)


@policy(Resource, Permission.VIEW)
def resource_visible(user, resource: Resource) -> bool:
    return resource.published or is_company_staff(user, resource.organisation)
