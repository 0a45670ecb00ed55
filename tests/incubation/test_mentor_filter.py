"""Mentors are filtered and paged in the database (issue 13, point 1): expertise and languages match as a
case-insensitive substring of an item, in Chinese too (the JSON text escapes it), on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.incubation.factories import MentorProfileFactory


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(item["name"] for item in response.get_json()["items"])


def test_expertise_and_language_filters_in_english_and_chinese(client, factories):
    MentorProfileFactory(user=factories.UserFactory(name="Ada"), expertise=["Supply chain", "供应链融资"],
                         languages=["zh", "en"])
    MentorProfileFactory(user=factories.UserFactory(name="Bo"), expertise=["Industrial design"], languages=["de"])
    assert names(client.get("/api/v1/mentors?expertise=supply")) == ["Ada"]
    assert names(client.get("/api/v1/mentors?expertise=融资")) == ["Ada"]
    assert names(client.get("/api/v1/mentors?expertise=DESIGN")) == ["Bo"]
    assert names(client.get("/api/v1/mentors?language=de")) == ["Bo"]
    assert names(client.get("/api/v1/mentors?expertise=100%")) == []  # LIKE wildcards are literal
    page = client.get("/api/v1/mentors?per_page=1&page=2").get_json()
    assert page["total"] >= 2 and len(page["items"]) == 1
    html = client.get("/mentors/?expertise=供应链").get_data(as_text=True)
    assert "Ada" in html and "Bo" not in html
