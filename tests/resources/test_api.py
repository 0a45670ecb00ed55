import pytest
from sqlalchemy import func, select

from portal.audit import AuditEvent
from resources.models import OpeningHours, Resource, ResourcePrice


def valid_body(organisation_id: int, **changes) -> dict:
    body = {
        "organisation_id": organisation_id,
        "name": "五轴加工中心 5-axis CNC",
        "kind": "equipment",
        "description": "DMG MORI DMU 50",
        "city": "青岛 Qingdao",
        "timezone": "Asia/Shanghai",
        "prices": [
            {"audience": "incubatee", "unit": "hour", "amount": 18000, "currency": "CNY"},
            {"audience": "external", "unit": "hour", "amount": 48000, "currency": "CNY"},
            {"audience": "startup", "unit": "use", "amount": 30000, "currency": "CNY"},
        ],
        "min_minutes": 60,
        "max_minutes": 480,
        "buffer_minutes": 30,
        "advance_days": 45,
        "requires_approval": False,
        "requires_qualification": True,
        "opening_hours": [{"weekday": 0, "start": "09:00", "end": "18:00"},
                          {"weekday": 5, "start": "09:00", "end": "13:00"}],
    }
    body.update(changes)
    return body


def counts(db_session) -> tuple[int, int, int]:
    return tuple(db_session.scalar(select(func.count()).select_from(model))
                 for model in (Resource, ResourcePrice, OpeningHours))


def test_company_member_publishes_a_resource_with_prices_and_hours(client, db_session, bearer, company):
    organisation, staff = company
    response = client.post("/api/v1/resources", json=valid_body(
        organisation.id, specifications={"Spindle 主轴": "20,000 rpm"}), headers=bearer(staff))
    assert response.status_code == 201, response.json
    data = response.json
    assert data["organisation"]["id"] == organisation.id
    assert data["kind"] == "equipment" and data["requires_qualification"] is True
    assert data["specifications"] == {"Spindle 主轴": "20,000 rpm"}
    assert {(p["audience"], p["unit"], p["amount"], p["currency"]) for p in data["prices"]} == {
        ("incubatee", "hour", 18000, "CNY"), ("external", "hour", 48000, "CNY"), ("startup", "use", 30000, "CNY")}
    assert data["opening_hours"] == [{"weekday": 0, "start": "09:00", "end": "18:00"},
                                     {"weekday": 5, "start": "09:00", "end": "13:00"}]
    resource = db_session.get(Resource, data["id"])
    assert resource is not None and len(resource.prices) == 3
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "resource.created"))
    assert event is not None and event.actor_id == staff.id and event.object_id == str(resource.id)


def test_missing_optional_rules_get_defaults(client, bearer, company):
    organisation, staff = company
    body = {"organisation_id": organisation.id, "name": "Laser cutter", "kind": "equipment"}
    response = client.post("/api/v1/resources", json=body, headers=bearer(staff))
    assert response.status_code == 201, response.json
    assert response.json["timezone"] == "Asia/Shanghai"
    assert response.json["min_minutes"] == 30 and response.json["buffer_minutes"] == 0
    assert response.json["prices"] == [] and response.json["opening_hours"] == []


def test_non_member_gets_403_and_nothing_is_written(client, db_session, bearer, company, factories):
    organisation, _staff = company
    outsider = factories.UserFactory(roles=["company"])
    before = counts(db_session)
    response = client.post("/api/v1/resources", json=valid_body(organisation.id), headers=bearer(outsider))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert counts(db_session) == before


def test_startup_members_cannot_publish_for_their_startup(client, bearer, factories):
    founder = factories.UserFactory()
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    response = client.post("/api/v1/resources", json=valid_body(startup.id), headers=bearer(founder))
    assert response.status_code == 403


def test_anonymous_gets_401(client, db_session, company):
    organisation, _staff = company
    before = counts(db_session)
    response = client.post("/api/v1/resources", json=valid_body(organisation.id))
    assert response.status_code == 401
    assert counts(db_session) == before


def test_unknown_organisation_is_a_400_naming_the_field(client, bearer, company):
    _organisation, staff = company
    response = client.post("/api/v1/resources", json=valid_body(999999), headers=bearer(staff))
    assert response.status_code == 400
    assert "organisation_id" in response.json["error"]["fields"]


@pytest.mark.parametrize("changes, field", [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"kind": "spaceship"}, "kind"),
    ({"name": ""}, "name"),
    ({"prices": [{"audience": "startup", "unit": "hour", "amount": -100, "currency": "CNY"}]}, "prices.0.amount"),
    ({"prices": [{"audience": "startup", "unit": "hour", "amount": 100, "currency": "CNY"},
                 {"audience": "vip", "unit": "hour", "amount": 100, "currency": "CNY"}]}, "prices.1.audience"),
    ({"prices": [{"audience": "startup", "unit": "hour", "amount": 100, "currency": "QQQ"}]}, "prices.0.currency"),
    ({"prices": [{"audience": "startup", "unit": "hour", "amount": 100, "currency": "CNY"},
                 {"audience": "startup", "unit": "hour", "amount": 200, "currency": "CNY"}]}, "prices.1.audience"),
    ({"opening_hours": [{"weekday": 1, "start": "18:00", "end": "09:00"}]}, "opening_hours.0.end"),
    ({"opening_hours": [{"weekday": 1, "start": "09:00", "end": "09:00"}]}, "opening_hours.0.end"),
    ({"opening_hours": [{"weekday": 7, "start": "09:00", "end": "18:00"}]}, "opening_hours.0.weekday"),
    ({"opening_hours": [{"weekday": 1, "start": "9 am", "end": "18:00"}]}, "opening_hours.0.start"),
    ({"opening_hours": [{"weekday": 1, "start": "09:00", "end": "13:00"},
                        {"weekday": 1, "start": "12:00", "end": "18:00"}]}, "opening_hours.1.start"),
    ({"min_minutes": 120, "max_minutes": 60}, "max_minutes"),
    ({"buffer_minutes": -5}, "buffer_minutes"),
    ({"specifications": ["not", "an", "object"]}, "specifications"),
])
def test_invalid_input_is_a_400_naming_the_field_and_writes_nothing(client, db_session, bearer, company,
                                                                    changes, field):
    organisation, staff = company
    headers = bearer(staff)
    before = counts(db_session)
    events_before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.post("/api/v1/resources", json=valid_body(organisation.id, **changes), headers=headers)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["fields"], response.json
    assert counts(db_session) == before
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_prices_are_public_to_anonymous_readers(client, resource_factories):
    resource = resource_factories.ResourceFactory(prices=[("incubatee", "hour", 8000), ("external", "use", 30000)])
    listing = client.get("/api/v1/resources")
    assert listing.status_code == 200
    item = next(i for i in listing.json["items"] if i["id"] == resource.id)
    assert {"audience": "incubatee", "unit": "hour", "amount": 8000, "currency": "CNY"} in item["prices"]
    one = client.get(f"/api/v1/resources/{resource.id}")
    assert one.status_code == 200
    assert {"audience": "external", "unit": "use", "amount": 30000, "currency": "CNY"} in one.json["prices"]
    assert one.json["opening_hours"][0] == {"weekday": 0, "start": "09:00", "end": "18:00"}
    assert "can_edit" not in one.json


def test_filters_by_kind_city_and_organisation(client, resource_factories, factories):
    haier = factories.OrganisationFactory(kind="company")
    lab = resource_factories.ResourceFactory(organisation=haier, kind="lab", city="青岛 Qingdao")
    cnc = resource_factories.ResourceFactory(organisation=haier, kind="equipment", city="青岛 Qingdao")
    laser = resource_factories.ResourceFactory(kind="equipment", city="佛山 Foshan")

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/resources?{query}")
        assert response.status_code == 200, response.json
        return {item["id"] for item in response.json["items"]}

    assert ids("kind=equipment") >= {cnc.id, laser.id} and lab.id not in ids("kind=equipment")
    assert ids("city=qingdao") >= {lab.id, cnc.id} and laser.id not in ids("city=qingdao")
    assert laser.id in ids("city=佛山")
    assert ids(f"organisation_id={haier.id}") == {lab.id, cnc.id}
    assert ids(f"organisation_id={haier.id}&kind=lab") == {lab.id}
    assert client.get("/api/v1/resources?kind=spaceship").status_code == 400
    assert client.get("/api/v1/resources?organisation_id=abc").json["error"]["fields"] == {
        "organisation_id": ["Send a whole number."]}


def test_unpublished_resources_are_hidden_from_the_public_but_not_from_staff(client, resource_factories, bearer,
                                                                           company):
    organisation, staff = company
    draft = resource_factories.ResourceFactory(organisation=organisation, published=False)
    assert client.get(f"/api/v1/resources/{draft.id}").status_code == 401
    assert draft.id not in {i["id"] for i in client.get("/api/v1/resources").json["items"]}
    headers = bearer(staff)
    assert client.get(f"/api/v1/resources/{draft.id}", headers=headers).status_code == 200
    listed = client.get(f"/api/v1/resources?organisation_id={organisation.id}", headers=headers).json["items"]
    assert [i["id"] for i in listed] == [draft.id]


def test_staff_replace_the_price_table_and_the_change_is_audited(client, db_session, resource_factories, bearer,
                                                                 company, factories):
    organisation, staff = company
    resource = resource_factories.ResourceFactory(organisation=organisation)
    new_prices = {"prices": [{"audience": "incubatee", "unit": "hour", "amount": 6000, "currency": "CNY"},
                             {"audience": "external", "unit": "hour", "amount": 30000, "currency": "CNY"},
                             {"audience": "external", "unit": "use", "amount": 9900, "currency": "CNY"}]}
    outsider = factories.UserFactory()
    assert client.put(f"/api/v1/resources/{resource.id}/prices", json=new_prices,
                      headers=bearer(outsider)).status_code == 403
    response = client.put(f"/api/v1/resources/{resource.id}/prices", json=new_prices, headers=bearer(staff))
    assert response.status_code == 200, response.json
    assert sorted((p["audience"], p["unit"], p["amount"]) for p in response.json["prices"]) == [
        ("external", "hour", 30000), ("external", "use", 9900), ("incubatee", "hour", 6000)]
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "resource.prices_changed"))
    assert event is not None and len(event.before["prices"]) == 3 and len(event.after["prices"]) == 3
    bad = client.put(f"/api/v1/resources/{resource.id}/prices", headers=bearer(staff), json={
        "prices": [{"audience": "startup", "unit": "hour", "amount": -1, "currency": "CNY"}]})
    assert bad.status_code == 400 and "prices.0.amount" in bad.json["error"]["fields"]


def test_every_resource_route_is_documented(client):
    document = client.get("/api/v1/openapi.json").json
    for path in ("/resources", "/resources/{resource_id}", "/resources/{resource_id}/prices"):
        for operation in document["paths"][path].values():
            assert "x-undocumented" not in operation
