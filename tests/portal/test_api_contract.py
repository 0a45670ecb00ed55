"""The public API keeps the paths and methods that ../shared/API.md fixes (v1 contract)."""

import re

import pytest

CONTRACT = [
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/tokens"),
    ("DELETE", "/api/v1/auth/tokens/{id}"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/organisations"),
    ("POST", "/api/v1/organisations/{id}/members"),
    ("POST", "/api/v1/projects"),
    ("GET", "/api/v1/projects"),
    ("GET", "/api/v1/projects/{id}"),
    ("PATCH", "/api/v1/projects/{id}"),
    ("POST", "/api/v1/projects/{id}/submit"),
    ("POST", "/api/v1/programs"),
    ("POST", "/api/v1/programs/{id}/applications"),
    ("POST", "/api/v1/applications/{id}/reviewers"),
    ("POST", "/api/v1/applications/{id}/reviews"),
    ("POST", "/api/v1/applications/{id}/decision"),
    ("PUT", "/api/v1/mentors/me"),
    ("GET", "/api/v1/mentors"),
    ("POST", "/api/v1/mentors/me/slots"),
    ("POST", "/api/v1/mentor-slots/{id}/book"),
    ("POST", "/api/v1/ideas"),
    ("POST", "/api/v1/ideas/{id}/votes"),
    ("POST", "/api/v1/resources"),
    ("GET", "/api/v1/resources"),
    ("GET", "/api/v1/resources/{id}"),
    ("GET", "/api/v1/resources/{id}/availability"),
    ("POST", "/api/v1/resources/{id}/bookings"),
    ("GET", "/api/v1/bookings"),
    ("POST", "/api/v1/bookings/{id}/cancel"),
    ("POST", "/api/v1/bookings/{id}/approve"),
    ("GET", "/api/v1/resources/{id}/calendar.ics"),
    ("POST", "/api/v1/campaigns"),
    ("POST", "/api/v1/campaigns/{id}/rewards"),
    ("POST", "/api/v1/campaigns/{id}/submit"),
    ("POST", "/api/v1/campaigns/{id}/approve"),
    ("GET", "/api/v1/campaigns/{id}"),
    ("POST", "/api/v1/campaigns/{id}/pledges"),
    ("POST", "/api/v1/pledges/{id}/cancel"),
    ("GET", "/api/v1/pledges/{id}"),
    ("GET", "/api/v1/campaigns/{id}/ledger"),
    ("POST", "/funding/stripe/webhook"),
    ("GET", "/api/v1/search"),
    ("GET", "/api/v1/search/suggest"),
    ("POST", "/api/v1/bookings/{id}/reject"),
]


def _routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?\w+>", "{}", rule.rule)
        routes.setdefault(path, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return routes


@pytest.mark.parametrize(("method", "path"), CONTRACT)
def test_contract_route_exists(app, method, path):
    assert method in _routes(app).get(re.sub(r"\{\w+\}", "{}", path), set()), f"{method} {path} is gone"
