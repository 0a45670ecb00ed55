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
