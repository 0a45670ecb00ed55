"""The API docs page in a real browser: Swagger UI renders the document offline, under the app's CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_api_docs_render_every_tag_without_outside_requests_or_csp_errors(page: Page, live_server):
    origin = urlsplit(live_server.url).netloc
    outside, problems = [], []
    page.on("request", lambda r: urlsplit(r.url).netloc not in (origin, "") and outside.append(r.url))
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto("/")
    page.get_by_role("link", name="API docs").click()
    expect(page).to_have_url("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Haichuang Portal API")
    page.locator(".operation-filter-input").fill("projects")  # the list is virtual: filter to reach a tag
    expect(page.locator("#operations-tag-projects")).to_be_visible()
    path = page.locator(".opblock-summary-path[data-path='/projects/{project_id}']")
    operation = page.locator(".opblock-get", has=path)
    operation.locator(".opblock-summary-control").click()
    expect(operation.locator(".responses-wrapper")).to_contain_text("not_found")
    assert outside == [] and problems == [], (outside, problems)
