"""Done when: the demo data answers a mentor's expertise in Chinese or English, a misspelt
equipment name and a city, on every backend. (One seeding per backend: the demo is not small.)"""

from __future__ import annotations

from portal.demo import seed_demo
from tests.search.conftest import titles

MENTOR_EXPERTISE = [("供应链", "张伟"), ("supply chain", "张伟"), ("量产", "张伟"), ("mass production", "张伟"),
                    ("工业设计", "Anna"), ("IoT firmware", "Anna")]
MISSPELT_EQUIPMENT = [("machning centre", "5-axis CNC"), ("lazer cutter", "Laser cutter"),
                      ("injektion moulding", "Injection moulding"), ("addtive manufacturing", "Additive Manufacturing")]


def test_the_demo_data_answers_the_questions_founders_ask(db_session, index_now, search_api, client, backend):
    seed_demo()
    index_now()
    for query, expected in MENTOR_EXPERTISE:
        found = titles(search_api(q=query, type="mentor"))
        assert found and expected in found[0], (query, found)
    for query, expected in MISSPELT_EQUIPMENT:
        found = titles(search_api(q=query))
        assert found and expected in found[0], (query, found)
    for query in ("Qingdao", "青岛"):
        body = search_api(q=query, type="resource").get_json()
        assert body["total"] == 3 and body["facets"]["city"] == {"青岛 Qingdao": 3}, (query, body)

    page = client.get("/search", query_string={"q": "供应链"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<mark>供应链</mark>" in html and "张伟" in html
    assert 'href="/search"' in client.get("/").get_data(as_text=True)  # in the navigation
