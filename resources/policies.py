"""Who may see and change resources. Prices and published resources are public."""

from portal.organisations.models import Organisation
from portal.organisations.services import acts_for_company, is_company_staff, role_in
from portal.permissions import Permission, policy
from resources.models import Booking, Resource

__all__ = ["is_company_staff", "acts_for_company"]

# On an Organisation: may prepare labs and equipment for it (any member of an anchor company). Publishing
# them also needs the company to be verified (`resources.services`, 409 `organisation_unverified`).
PUBLISH_RESOURCES = "publish_resources"


@policy(Organisation, PUBLISH_RESOURCES)
def publish_for_company(user, organisation: Organisation) -> bool:
    return is_company_staff(user, organisation)


# On an Organisation: read its monthly resource statement (any member) and, for an anchor company,
# the utilisation of its resources (company staff).
VIEW_STATEMENTS = "view_resource_statements"
VIEW_UTILISATION = "view_resource_utilisation"


@policy(Organisation, VIEW_STATEMENTS)
def statement_reader(user, organisation: Organisation) -> bool:
    return role_in(user, organisation.id) is not None


@policy(Organisation, VIEW_UTILISATION)
def utilisation_reader(user, organisation: Organisation) -> bool:
    return acts_for_company(user, organisation)


@policy(Resource, Permission.EDIT)
def resource_staff(user, resource: Resource) -> bool:
    return is_company_staff(user, resource.organisation)


@policy(Resource, Permission.VIEW)
def resource_visible(user, resource: Resource) -> bool:
    return resource.published or is_company_staff(user, resource.organisation)


# On a Booking: cancel it (the booker, or staff of the owning company).
CANCEL_BOOKING = "cancel_booking"


@policy(Booking, Permission.VIEW)
def booking_visible(user, booking: Booking) -> bool:
    return user is not None and (booking.user_id == user.id or is_company_staff(user, booking.resource.organisation))


@policy(Booking, Permission.EDIT)
def booking_staff(user, booking: Booking) -> bool:
    """Approve, reject, mark completed or no-show: staff of the verified company owning the resource."""
    return user is not None and acts_for_company(user, booking.resource.organisation)


# On a Booking: rate it (the booker only, admins included).
REVIEW_BOOKING = "review_booking"


@policy(Booking, REVIEW_BOOKING, personal=True)
def booking_reviewer(user, booking: Booking) -> bool:
    return user is not None and booking.user_id == user.id


@policy(Booking, CANCEL_BOOKING)
def booking_cancellable_by(user, booking: Booking) -> bool:
    return booking_visible(user, booking)
