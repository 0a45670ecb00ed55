"""The behavioural suite of search, run on every backend (see conftest.backend)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from funding.models import CampaignStatus
from incubation.models import ProjectStatus
from portal.db import utcnow
from portal.extensions import db
from portal.search.models import SearchDocument
from tests.funding.factories import CampaignFactory
from tests.incubation.factories import MentorProfileFactory, ProjectFactory
from tests.resources.factories import ResourceFactory
from tests.search.conftest import titles


@pytest.fixture
def catalogue(factories, index_now):
    """A small bilingual catalogue: two mentors, three resources in two cities, a project, a campaign."""
    zhang = MentorProfileFactory(
        user__name="张伟 Zhang Wei", bio="前海尔供应链总监。Former supply-chain director at Haier.",
        expertise=["供应链 supply chain", "量产 mass production", "融资 fundraising"],
        industries=["智能家居 Smart home"], languages=["zh", "en"], organisation="Haier COSMOPlat")
    anna = MentorProfileFactory(
        user__name="Anna Schmidt", bio="Industrial designer; shipped three connected appliances.",
        expertise=["工业设计 industrial design", "IoT firmware"], industries=["Consumer electronics"],
        languages=["en", "de"], organisation="Studio Schmidt")
    cnc = ResourceFactory(
        name="五轴加工中心 5-axis CNC machining centre", kind="equipment", city="青岛 Qingdao",
        description="Simultaneous 5-axis milling for aluminium housings.", requires_qualification=True,
        specifications={"主轴 Spindle": "20,000 rpm"}, prices=[("startup", "hour", 28000)])
    laser = ResourceFactory(
        name="激光切割机 Laser cutter", kind="equipment", city="佛山 Foshan",
        description="Cutting acrylic, wood and leather.", prices=[("startup", "hour", 9000)])
    studio = ResourceFactory(
        name="Industrial design studio", kind="workshop", city="佛山 Foshan",
        description="Workstations and a model shop; CNC foam cutting on request.",
        prices=[("startup", "hour", 6000)])
    project = ProjectFactory(title="GreenBrew Countertop Composter", summary="Kitchen scraps into compost overnight",
                             industry="Cleantech", status=ProjectStatus.SUBMITTED)
    campaign = CampaignFactory(title="Quiet Smart Ventilator launch", story="A 23 dB fresh-air unit for small flats.",
                               status=CampaignStatus.LIVE)
    index_now()
    return {"zhang": zhang, "anna": anna, "cnc": cnc, "laser": laser, "studio": studio, "project": project,
            "campaign": campaign}


# ---- finding things ----------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["supply chain", "供应链", "融资", "fundraising"])
def test_finds_a_mentor_by_expertise_in_chinese_or_english(catalogue, search_api, query):
    response = search_api(q=query)
    assert titles(response) == ["张伟 Zhang Wei"]
    item = response.get_json()["items"][0]
    assert item["type"] == "mentor" and item["id"] == catalogue["zhang"].id
    assert "<mark>" in item["snippet"]
    assert item["url"] == f"/mentors/{catalogue['zhang'].id}"


@pytest.mark.parametrize("query", ["machning centre", "CNC machning", "lazer cutter", "laser cuter"])
def test_finds_equipment_by_a_misspelt_name(catalogue, search_api, query):
    found = titles(search_api(q=query))
    expected = "激光切割机 Laser cutter" if "cut" in query else "五轴加工中心 5-axis CNC machining centre"
    assert found and found[0] == expected


@pytest.mark.parametrize("query", ["Foshan", "佛山"])
def test_finds_resources_by_city(catalogue, search_api, query):
    assert sorted(titles(search_api(q=query))) == ["Industrial design studio", "激光切割机 Laser cutter"]


def test_one_and_two_character_chinese_queries_match(catalogue, search_api):
    assert titles(search_api(q="青岛")) == ["五轴加工中心 5-axis CNC machining centre"]
    assert "激光切割机 Laser cutter" in titles(search_api(q="激光"))


def test_the_exact_name_ranks_first(catalogue, search_api, factories, index_now):
    ResourceFactory(name="Industrial design studio annex", description="Industrial design studio overflow room")
    MentorProfileFactory(user__name="Ida Studio", bio="Industrial design studio founder", expertise=["design"])
    index_now()
    found = titles(search_api(q="industrial design studio"))
    assert found[0] == "Industrial design studio"
    assert {"Industrial design studio annex", "Ida Studio"} <= set(found)


def test_every_term_must_match(catalogue, search_api):
    assert titles(search_api(q="CNC Qingdao")) == ["五轴加工中心 5-axis CNC machining centre"]
    assert titles(search_api(q="CNC Foshan")) == ["Industrial design studio"]


def test_projects_and_live_campaigns_are_found(catalogue, search_api):
    assert titles(search_api(q="composter")) == ["GreenBrew Countertop Composter"]
    response = search_api(q="ventilator")
    assert titles(response) == ["Quiet Smart Ventilator launch"]
    assert response.get_json()["items"][0]["type"] == "campaign"


# ---- filters, facets, sorting, paging ---------------------------------------------------------

def test_facets_count_types_and_cities_and_filters_narrow(catalogue, search_api):
    body = search_api(q="CNC").get_json()
    assert body["facets"]["type"] == {"resource": 2}
    assert body["facets"]["city"] == {"佛山 Foshan": 1, "青岛 Qingdao": 1}
    narrowed = search_api(q="CNC", city="青岛 Qingdao").get_json()
    assert narrowed["total"] == 1 and narrowed["items"][0]["title"].startswith("五轴")
    # a facet does not narrow itself: the other city is still offered
    assert narrowed["facets"]["city"] == {"佛山 Foshan": 1, "青岛 Qingdao": 1}


def test_type_language_and_industry_filters(catalogue, search_api):
    assert sorted(titles(search_api(type="mentor"))) == ["Anna Schmidt", "张伟 Zhang Wei"]
    assert titles(search_api(type="mentor", language="de")) == ["Anna Schmidt"]
    assert titles(search_api(industry="智能家居 Smart home")) == ["张伟 Zhang Wei"]
    facets = search_api(type="mentor").get_json()["facets"]
    assert facets["language"] == {"en": 2, "de": 1, "zh": 1}


def test_price_range_filter_facet_and_price_sort(catalogue, search_api):
    response = search_api(type="resource", price_max=10000, sort="price")
    assert titles(response) == ["Industrial design studio", "激光切割机 Laser cutter"]
    assert response.get_json()["items"][0]["price_from"] == {"amount": 6000, "currency": "CNY"}
    assert titles(search_api(type="resource", price_min=10000)) == ["五轴加工中心 5-axis CNC machining centre"]
    assert search_api(type="resource").get_json()["facets"]["price"] == {"0-10000": 2, "10000-50000": 1}


def test_newest_sort_and_pagination(catalogue, search_api, factories, index_now):
    older = ResourceFactory(name="Old lathe", city="Hefei", created_at=utcnow() - timedelta(days=30))
    newer = ResourceFactory(name="New lathe", city="Hefei", created_at=utcnow() - timedelta(days=1))
    assert older and newer
    index_now()
    assert titles(search_api(q="lathe", sort="newest")) == ["New lathe", "Old lathe"]
    first = search_api(q="lathe", sort="newest", per_page=1).get_json()
    second = search_api(q="lathe", sort="newest", per_page=1, page=2).get_json()
    assert first["total"] == second["total"] == 2
    assert [first["items"][0]["title"], second["items"][0]["title"]] == ["New lathe", "Old lathe"]
    assert search_api(q="lathe", per_page=1, page=3).get_json()["items"] == []


def test_rating_sort_puts_rated_mentors_first(catalogue, search_api, index_now):
    anna = catalogue["anna"]
    if not hasattr(anna, "rating_count"):
        pytest.skip("mentor profiles have no rating yet")
    anna.rating_sum, anna.rating_count = 9, 2
    db.session.flush()
    index_now()
    response = search_api(type="mentor", sort="rating")
    assert titles(response) == ["Anna Schmidt", "张伟 Zhang Wei"]
    assert response.get_json()["items"][0]["rating"] == 4.5


def test_suggest_completes_titles(catalogue, search_api):
    assert search_api("/api/v1/search/suggest", q="Laser").get_json() == {"suggestions": ["激光切割机 Laser cutter"]}
    assert "激光切割机 Laser cutter" in search_api("/api/v1/search/suggest", q="激光").get_json()["suggestions"]
    assert search_api("/api/v1/search/suggest", q="indus").get_json()["suggestions"][0] == "Industrial design studio"
    assert search_api("/api/v1/search/suggest", q="  ").get_json() == {"suggestions": []}


# ---- highlighting ------------------------------------------------------------------------------

def test_snippets_are_html_escaped_with_marks(factories, search_api, index_now):
    ResourceFactory(name="Soldering bench", description='<script>alert("x")</script> solder <b>fumes</b> extraction')
    index_now()
    snippet = search_api(q="solder").get_json()["items"][0]["snippet"]
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;" in snippet and "<mark>solder</mark>" in snippet.lower()


# ---- permissions -------------------------------------------------------------------------------

def test_never_returns_drafts_unpublished_or_not_live(factories, search_api, index_now, login):
    owner = factories.UserFactory()
    draft = ProjectFactory(title="Secret hoverboard", status=ProjectStatus.DRAFT, organisation__owner=owner)
    hidden = ResourceFactory(name="Secret hoverboard test rig", published=False)
    pending = CampaignFactory(title="Secret hoverboard preorder", status=CampaignStatus.SUBMITTED)
    assert draft and hidden and pending
    index_now()
    assert titles(search_api(q="hoverboard")) == []
    login(owner)  # not even their own organisation's draft: search shows public documents only
    assert titles(search_api(q="hoverboard")) == []
    assert db.session.scalar(select(SearchDocument).where(SearchDocument.title.contains("hoverboard"))) is None


def test_publishing_adds_and_unpublishing_removes(factories, search_api, index_now):
    rig = ResourceFactory(name="Vibration test rig", published=False)
    project = ProjectFactory(title="Balcony herb garden", status=ProjectStatus.DRAFT)
    index_now()
    assert titles(search_api(q="vibration")) == [] and titles(search_api(q="herb garden")) == []
    rig.published = True
    project.status = ProjectStatus.SUBMITTED
    db.session.flush()
    index_now()
    assert titles(search_api(q="vibration")) == ["Vibration test rig"]
    assert titles(search_api(q="herb garden")) == ["Balcony herb garden"]
    rig.published = False
    db.session.flush()
    index_now()
    assert titles(search_api(q="vibration")) == []


def test_related_changes_reach_the_documents(catalogue, search_api, index_now):
    catalogue["laser"].organisation.name = "Shunde Makerspace"
    catalogue["anna"].user.name = "Anna Schmidt-Weber"
    db.session.flush()
    index_now()
    assert "激光切割机 Laser cutter" in titles(search_api(q="makerspace"))
    assert titles(search_api(q="Schmidt-Weber")) == ["Anna Schmidt-Weber"]
    catalogue["anna"].user.is_active_account = False
    db.session.flush()
    index_now()
    assert titles(search_api(q="Schmidt")) == []


def test_a_deleted_object_leaves_the_index(catalogue, search_api, index_now):
    db.session.delete(catalogue["studio"])
    db.session.flush()
    index_now()
    assert "Industrial design studio" not in titles(search_api(q="studio"))


# ---- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    '"', '"unbalanced', "(((", "laser)", "*", "las*", "laser OR cutter", "NOT laser", "laser AND", "title:laser",
    "NEAR(laser cutter)", "^laser", "laser~2", "{laser}", "[a TO z]", "-laser", "+laser", "laser\\", "%", "_",
    "' OR 1=1 --", "🙂", "a" * 200, "laser " * 33, "<script>", "&amp;", "   ",
])
def test_operator_laden_queries_never_fail(catalogue, search_api, query):
    response = search_api(q=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body["items"], list) and body["total"] >= len(body["items"])
    suggest = search_api("/api/v1/search/suggest", q=query)
    assert suggest.status_code == 200


def test_control_characters_are_refused_naming_the_field(catalogue, search_api):
    """Issue 10: `?q=lab&city=%00` used to be a 500; a NUL is never a search term."""
    for params in ({"q": "\x00"}, {"q": "lab", "city": "\x00"}):
        response = search_api(**params)
        assert response.status_code == 400
        assert set(response.get_json()["error"]["fields"]) == {next(k for k, v in params.items() if v == "\x00")}


def test_operators_are_searched_as_words(catalogue, search_api):
    assert titles(search_api(q='"laser" OR (cutter*')) == ["激光切割机 Laser cutter"]


def test_empty_query_lists_everything_public(catalogue, search_api):
    body = search_api(q="").get_json()
    assert body["total"] == 8  # the campaign's project is public too
    assert body["facets"]["type"] == {"resource": 3, "mentor": 2, "project": 2, "campaign": 1}


@pytest.mark.parametrize("args, field", [
    ({"q": "x" * 201}, "q"), ({"type": "idea"}, "type"), ({"sort": "cheapest"}, "sort"),
    ({"price_min": "cheap"}, "price_min"), ({"price_min": -1}, "price_min"),
    ({"price_min": 500, "price_max": 100}, "price_max"), ({"per_page": 1000}, "per_page"), ({"page": 0}, "page"),
    ({"page": 100000}, "page"),
])
def test_invalid_parameters_are_400_naming_the_field(search_api, args, field):
    response = search_api(**args)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_suggest_rejects_a_huge_prefix(search_api):
    response = search_api("/api/v1/search/suggest", q="x" * 201)
    assert response.status_code == 400 and "q" in response.get_json()["error"]["fields"]


# ---- resources free in a date window -----------------------------------------------------------

def test_free_in_a_date_window_keeps_resources_with_bookable_time(factories, search_api, index_now):
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from resources.models import Blackout

    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    wednesday = today + timedelta(days=(2 - today.weekday()) % 7 + 7)
    sunday = wednesday + timedelta(days=4)
    busy = ResourceFactory(name="Kiln A")  # open Monday to Friday, 09:00-18:00 Shanghai time
    ResourceFactory(name="Kiln B")
    zone = ZoneInfo("Asia/Shanghai")
    db.session.add(Blackout(resource_id=busy.id, reason="maintenance",
                            starts_at=datetime.combine(wednesday, time.min, tzinfo=zone).astimezone(UTC),
                            ends_at=datetime.combine(wednesday, time.max, tzinfo=zone).astimezone(UTC)))
    db.session.flush()
    index_now()
    assert sorted(titles(search_api(q="kiln"))) == ["Kiln A", "Kiln B"]
    response = search_api(q="kiln", free_from=wednesday.isoformat())
    assert titles(response) == ["Kiln B"]
    assert response.get_json()["facets"]["type"] == {"resource": 1}
    assert sorted(titles(search_api(q="kiln", free_from=wednesday.isoformat(),
                                    free_to=(wednesday + timedelta(days=1)).isoformat()))) == ["Kiln A", "Kiln B"]
    assert titles(search_api(q="kiln", free_from=sunday.isoformat())) == []  # closed on Sundays


@pytest.mark.parametrize("args, field", [
    ({"free_from": "2027-02-30"}, "free_from"), ({"free_to": "2027-03-01"}, "free_to"),
    ({"free_from": "2027-03-02", "free_to": "2027-03-01"}, "free_to"),
    ({"free_from": "2027-03-01", "free_to": "2027-05-01"}, "free_to"),
])
def test_bad_date_windows_are_400(search_api, args, field):
    response = search_api(**args)
    assert response.status_code == 400 and field in response.get_json()["error"]["fields"]


def test_the_search_page_handles_bad_input(catalogue, client):
    assert client.get("/search", query_string={"q": "x" * 201}).status_code == 400
    assert client.get("/search", query_string={"q": "laser", "page": "abc"}).status_code == 400
    assert client.get("/search", query_string={"price_min": "-5"}).status_code == 400
    page = client.get("/search", query_string={"q": '"(( laser OR *'})
    assert page.status_code == 200 and "激光切割机 Laser cutter" in page.get_data(as_text=True)


def test_the_search_page_filters_by_facet_links(catalogue, client):
    html = client.get("/search", query_string={"q": "CNC"}).get_data(as_text=True)
    assert "city=%E4%BD%9B%E5%B1%B1+Foshan" in html or "city=%E4%BD%9B%E5%B1%B1%20Foshan" in html
    narrowed = client.get("/search", query_string={"q": "CNC", "city": "佛山 Foshan"}).get_data(as_text=True)
    assert "Industrial design studio" in narrowed and "五轴加工中心" not in narrowed


def test_the_search_page_offers_price_ranges(catalogue, client):
    html = client.get("/search", query_string={"type": "resource"}).get_data(as_text=True)
    assert 'data-facet="price"' in html and "price_max=9999" in html
    cheap = client.get("/search", query_string={"type": "resource", "price_max": 9999}).get_data(as_text=True)
    assert "Industrial design studio" in cheap and "五轴加工中心" not in cheap


def test_private_fields_are_never_indexed(factories, search_api, index_now):
    ProjectFactory(title="Solar kettle", business_model="Margin plan zqxsecret", team="Founders zqxteam",
                   problem="zqxproblem", funding_sought_amount=123_456_00)
    index_now()
    assert titles(search_api(q="solar kettle")) == ["Solar kettle"]
    for word in ("zqxsecret", "zqxteam", "zqxproblem", "123456"):
        assert titles(search_api(q=word)) == [], word


# ---- the response models (issue 10) -----------------------------------------------------------------

def test_responses_match_their_models(catalogue, search_api):
    from portal.search.schemas import SearchItemOut, SearchOut, SuggestOut

    for args in ({}, {"q": "laser"}, {"type": "resource", "sort": "price"}, {"q": "供应链", "per_page": 2}):
        body = search_api(**args).get_json()
        page = SearchOut.model_validate(body)
        assert set(body) == set(SearchOut.model_fields)
        for item in body["items"]:
            assert set(item) == set(SearchItemOut.model_fields)
        assert page.total >= len(page.items)
    resources = SearchOut.model_validate(search_api(type="resource").get_json()).items
    assert resources and all(item.price_from is None or item.price_from.currency for item in resources)
    body = search_api("/api/v1/search/suggest", q="la").get_json()
    assert set(body) == set(SuggestOut.model_fields) and SuggestOut.model_validate(body).suggestions


def test_the_search_page_names_the_refused_parameter(catalogue, client):
    page = client.get("/search", query_string={"q": "laser", "price_min": "5", "price_max": "1"})
    assert page.status_code == 400 and "The upper price must not be below the lower price." in page.get_data(
        as_text=True)
    assert client.get("/search", query_string={"q": "laser", "type": ""}).status_code == 200
