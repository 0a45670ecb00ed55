import pytest


@pytest.fixture
def company(factories):
    """An anchor company with a staff member (not its owner: any member may publish)."""
    owner = factories.UserFactory(roles=["company"])
    organisation = factories.OrganisationFactory(kind="company", name="海尔 Haier Test", owner=owner)
    staff = factories.UserFactory(roles=["company"])
    factories.MembershipFactory(organisation=organisation, user=staff)
    return organisation, staff


@pytest.fixture
def resource_factories(db_session):
    from tests.resources import factories

    return factories
