from sqlalchemy import func, select

from resources.models import Resource


def test_anonymous_visitors_see_the_catalogue_with_the_lowest_price(client, resource_factories):
    resource_factories.ResourceFactory(name="EMC pre-compliance lab", city="佛山 Foshan",
                                       prices=[("incubatee", "hour", 20000), ("external", "hour", 60000)])
    page = client.get("/resources/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "EMC pre-compliance lab" in html
    assert "CN¥200.00" in html or "¥200.00" in html
    assert "<script>" not in html  # the CSP forbids inline scripts


def test_catalogue_filters_by_kind_and_city(client, resource_factories):
    resource_factories.ResourceFactory(name="Additive lab", kind="lab", city="青岛 Qingdao")
    resource_factories.ResourceFactory(name="Laser cutter", kind="equipment", city="佛山 Foshan")
    html = client.get("/resources/?kind=equipment").get_data(as_text=True)
    assert "Laser cutter" in html and "Additive lab" not in html
    html = client.get("/resources/?city=Qingdao").get_data(as_text=True)
    assert "Additive lab" in html and "Laser cutter" not in html


def test_the_catalogue_is_paged_and_every_resource_can_be_reached(client, resource_factories):
    """It showed the first 200 resources and no way to the rest; now 24 per page with pages."""
    for number in range(30):
        resource_factories.ResourceFactory(name=f"Paged bench {number:02d}", kind="equipment")
    first = client.get("/resources/?kind=equipment").get_data(as_text=True)
    assert first.count('data-resource-id="') == 24
    assert "Paged bench 00" in first and "Paged bench 24" not in first
    assert "Page 1 of 2" in first and 'href="/resources/?page=2&amp;kind=equipment"' in first
    second = client.get("/resources/?kind=equipment&page=2").get_data(as_text=True)
    assert second.count('data-resource-id="') == 6 and "Paged bench 29" in second


def test_detail_page_shows_the_full_price_table_hours_and_rules(client, resource_factories):
    resource = resource_factories.ResourceFactory(
        name="5-axis CNC", requires_qualification=True, min_minutes=120, buffer_minutes=60,
        specifications={"Spindle 主轴": "20,000 rpm"},
        prices=[("incubatee", "hour", 18000), ("startup", "hour", 28000), ("external", "use", 50000)],
        opening_hours=[(0, "08:30", "17:30"), (5, "09:00", "13:00")])
    page = client.get(f"/resources/{resource.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("180.00", "280.00", "500.00", "Incubated startups", "Other startups", "External customers",
                 "per use", "Spindle 主轴", "20,000 rpm", "08:30–17:30", "09:00–13:00", "Asia/Shanghai",
                 "UTC+08:00", "Monday", "Sunday", "closed", "120 min", "60 min", resource.organisation.name):
        assert text in html, text


def test_company_staff_publish_through_the_html_form(client, db_session, login, company):
    organisation, staff = company
    login(staff)
    form_page = client.get("/resources/new")
    assert form_page.status_code == 200 and organisation.name in form_page.get_data(as_text=True)
    response = client.post("/resources/new", data={
        "organisation_id": organisation.id, "name": "Industrial design studio", "kind": "workshop",
        "city": "佛山 Foshan", "timezone": "Asia/Shanghai", "min_minutes": "60", "max_minutes": "600",
        "buffer_minutes": "0", "advance_days": "30", "capacity": "8",
        "specifications_text": "Workstations: 8 × Wacom Cintiq\nScanner: EinScan Pro",
        "prices-0-audience": "incubatee", "prices-0-unit": "hour", "prices-0-amount": "30",
        "prices-0-currency": "CNY",
        "prices-1-audience": "startup", "prices-1-unit": "hour", "prices-1-amount": "", "prices-1-currency": "CNY",
        "prices-2-audience": "external", "prices-2-unit": "hour", "prices-2-amount": "120.00",
        "prices-2-currency": "CNY",
        "opening_hours-0-weekday": "0", "opening_hours-0-start": "09:00", "opening_hours-0-end": "18:00",
        "opening_hours-1-weekday": "6", "opening_hours-1-start": "", "opening_hours-1-end": "",
        "opening_hours-2-weekday": "5", "opening_hours-2-start": "10:00", "opening_hours-2-end": "16:00",
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    resource = db_session.scalar(select(Resource).where(Resource.name == "Industrial design studio"))
    assert resource.specifications == {"Workstations": "8 × Wacom Cintiq", "Scanner": "EinScan Pro"}
    assert sorted((p.audience, p.amount) for p in resource.prices) == [("external", 12000), ("incubatee", 3000)]
    assert [(h.weekday, h.opens.strftime("%H:%M")) for h in resource.opening_hours] == [(0, "09:00"), (5, "10:00")]


def test_html_form_shows_errors_and_writes_nothing(client, db_session, login, company):
    organisation, staff = company
    login(staff)
    before = db_session.scalar(select(func.count()).select_from(Resource))
    response = client.post("/resources/new", data={
        "organisation_id": organisation.id, "name": "Bad hours", "kind": "lab", "timezone": "Nowhere/City",
        "opening_hours-0-weekday": "0", "opening_hours-0-start": "18:00", "opening_hours-0-end": "09:00"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "IANA time zone" in html and "Closing time must be after opening time" in html
    assert db_session.scalar(select(func.count()).select_from(Resource)) == before


def test_people_outside_a_company_cannot_open_the_form(client, login, factories):
    login(factories.UserFactory())
    assert client.get("/resources/new").status_code == 403


def test_staff_see_their_resources_on_the_dashboard(client, login, resource_factories, company):
    organisation, staff = company
    resource_factories.ResourceFactory(organisation=organisation, name="注塑小批量产线 Pilot line", published=False)
    login(staff)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "注塑小批量产线 Pilot line" in html and "Your labs and equipment" in html


def test_staff_edit_prices_in_the_browser(client, db_session, login, resource_factories, company):
    organisation, staff = company
    resource = resource_factories.ResourceFactory(organisation=organisation, prices=[("startup", "hour", 1000)])
    login(staff)
    page = client.get(f"/resources/{resource.id}/prices")
    assert page.status_code == 200 and 'value="10.00"' in page.get_data(as_text=True)  # yuan, not fen
    response = client.post(f"/resources/{resource.id}/prices", data={
        "prices-0-audience": "startup", "prices-0-unit": "hour", "prices-0-amount": "15.00", "prices-0-currency": "CNY",
        "prices-1-audience": "external", "prices-1-unit": "hour", "prices-1-amount": "", "prices-1-currency": "CNY"})
    assert response.status_code == 302
    db_session.refresh(resource)
    assert [(p.audience, p.amount) for p in resource.prices] == [("startup", 1500)]


def test_home_page_counts_published_resources_and_nav_links_the_catalogue(client, resource_factories):
    resource_factories.ResourceFactory()
    html = client.get("/").get_data(as_text=True)
    assert "labs and machines" in html
    assert html.count('href="/resources/"') == 1
