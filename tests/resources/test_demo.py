from sqlalchemy import select

from portal.demo import seed_demo
from resources.models import Resource


def test_demo_seeder_publishes_the_labs_of_both_companies(client, db_session):
    seed_demo()
    resources = db_session.scalars(select(Resource).order_by(Resource.id)).all()
    names = [r.name for r in resources]
    assert "五轴加工中心 5-axis CNC machining centre DMG MORI" in names
    assert "激光切割机 Laser cutter Trotec Speedy 400" in names
    assert len(resources) >= 6
    cnc = next(r for r in resources if "DMG MORI" in r.name)
    assert cnc.requires_qualification and cnc.timezone == "Asia/Shanghai" and "NDA" in cnc.terms_text
    for resource in resources:
        amounts = {p.audience: p.amount for p in resource.prices if p.unit == "hour"}
        assert amounts["incubatee"] < amounts["startup"] < amounts["external"]
        assert resource.opening_hours and resource.organisation.kind == "company"
    page = client.get(f"/resources/{cnc.id}")
    assert page.status_code == 200 and "DMU 50" in page.get_data(as_text=True)
    assert client.get("/api/v1/resources?city=Foshan").json["total"] == 3


def test_demo_bookings_fill_the_queue_the_calendar_and_the_utilisation(client, db_session, login):
    from portal.auth.models import User
    from resources.models import Booking

    seed_demo()
    statuses = {b.status for b in db_session.scalars(select(Booking))}
    assert {"completed", "confirmed", "pending"} <= statuses
    staff = db_session.scalar(select(User).where(User.email == "lab-manager@demo.example.com"))
    login(staff, "demo-password-2026")
    client.post("/language", data={"locale": "en"})  # the demo lab manager reads Chinese
    queue = client.get("/resources/approvals").get_data(as_text=True)
    assert "注塑小批量产线" in queue and "Approving this request rejects 1 clashing request(s)" in queue
    organisation_id = db_session.scalar(select(Resource.organisation_id).where(Resource.name.like("3D%")))
    data = client.get(f"/api/v1/organisations/{organisation_id}/resource-utilisation").json
    printer = next(item for item in data["items"] if item["name"].startswith("3D"))
    assert printer["booked_hours"] > 0 and 0 < printer["utilisation"] < 1
    assert client.get("/resources/idle").status_code == 200
    assert "★" in client.get(f"/resources/{printer['resource_id']}").get_data(as_text=True)
