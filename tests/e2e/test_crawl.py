"""The role crawl (issue 12, points 6 and 8): every demo role, in English and Chinese, follows every same-site
GET link reachable from the home page, the dashboard and the navbar to depth 2, and each page it reaches

- answers without a 4xx or 5xx,
- does not scroll sideways at 1280 px nor at 390 px,
- has no serious or critical axe-core violation (axe-playwright-python bundles axe-core),
- gives every form control a visible label.

URLs are deduplicated by pattern (numbers become {id}, the query by its names), at most MAX_PAGES per role;
logout, downloads, exports, feeds and the API are skipped. Bounded to stay under four minutes on the 2-core
test machine: every role fetches every page it reaches (status, links and forms, through the browser
context's HTTP client, with its cookies); a page is rendered for the layout and label checks once per shape
(its pattern and the forms and fields it shows) and language, so a role that sees other forms on a page is
checked too (the home page and the dashboard for every role), and axe-core runs once per shape (its rules
look at structure, names and colours, the same in both languages).
"""

from __future__ import annotations

import re
import time
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest

from tests.e2e.conftest import LANGUAGES, VIEWPORTS, choose_language, log_in, new_page

pytestmark = pytest.mark.browser

ROLES = {"admin": "admin@demo.example.com", "founder": "founder@demo.example.com",
         "company": "lab-manager@demo.example.com", "mentor": "mentor@demo.example.com",
         "backer": "backer@demo.example.com"}
MAX_PAGES = 40
MAX_DEPTH = 2
BLOCKING_IMPACTS = {"serious", "critical"}
SKIP = re.compile(
    r"^/(api|static|metrics|healthz|readyz)(/|$)|logout|/export|/download|\.(csv|ics|pdf|zip|py|json|png|jpe?g|webp|svg)$"
    r"|/feed|/files/|/images?/|/media/|/photos/\d+$|/documents/\d+/file|/calendar\.ics|/auth/login|/auth/register"
    r"|/set-language|/unsubscribe|/ledger\.csv")
PER_ROLE = {"/", "/dashboard"}  # patterns whose page differs by role: rendered for every role
RENDERED: set[tuple[str, str]] = set()  # (page shape, language) rendered and checked, across the roles
AXE_SEEN: set[str] = set()  # page shapes checked by axe, across roles and languages


class Links(HTMLParser):
    """The hrefs of a page's links (not downloads, not opening another window), and its controls: which
    forms and fields it shows (a page's shape for one role; a role that sees other forms is rendered too)."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.controls: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href") and "download" not in attributes and attributes.get(
                "target", "_self") == "_self":
            self.hrefs.append(attributes["href"])
        elif tag == "form":
            self.controls.add("form " + re.sub(r"\d+", "{id}", attributes.get("action") or ""))
        elif tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.add(f"{tag} {re.sub(r'[0-9]+', '{id}', attributes.get('name') or '')}")


def read_page(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser
# Sideways scrolling, measured once the page has settled after a resize (Chart.js redraws its canvases
# at the new width in a ResizeObserver callback, a frame or two later).
OVERFLOW = """async () => {
  const over = () => document.documentElement.scrollWidth - document.documentElement.clientWidth;
  const frame = () => new Promise((done) => requestAnimationFrame(done));
  await frame(); await frame();
  for (const start = performance.now(); over() > 0 && performance.now() - start < 600;) await frame();
  return over();
}"""
# Problems found in pages another change of issue 12 is reworking at the time of writing (reported there, not
# failed here): (page pattern, text in the problem) -> why.
KNOWN: dict[tuple[str, str], str] = {}  # (page pattern, axe rule) -> why it is not failed yet
# Visible form controls without a visible label: a <label> (for= or wrapping), aria-labelledby text or the
# header of the control's table column, on screen. A search box (type=search with a placeholder) and the language switcher (its chosen
# language names it) count as labelled by what they show.
UNLABELLED = """() => {
  const shown = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'
    && !(el.closest('.visually-hidden, .visually-hidden-focusable')) && (el.textContent || '').trim().length > 0;
  const bad = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(type)) continue;
    if (el.getClientRects().length === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.id === 'language-select' || (type === 'search' && el.placeholder)) continue;
    const labels = [...(el.labels || [])];
    const by = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean).map((id) => document.getElementById(id));
    if (labels.some(shown) || by.some(shown)) continue;
    // In a table of controls (prices, opening hours, preferences), the column's header is the visible label.
    const cell = el.closest('td');
    const table = cell && cell.closest('table');
    const header = table && table.tHead && table.tHead.rows[0] && table.tHead.rows[0].cells[cell.cellIndex];
    if (header && shown(header)) continue;
    const form = el.form ? (el.form.getAttribute('action') || '') : '';
    bad.push(`${el.tagName.toLowerCase()}[name=${el.name || '?'}] in form ${form}`);
  }
  return bad;
}"""


def pattern(url: str) -> str:
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|$)", "/{id}", parts.path)
    names = sorted({name for name, _value in parse_qsl(parts.query, keep_blank_values=True)} - {"page"})
    return path + ("?" + "&".join(names) if names else "")


def same_site(url: str, base: str) -> str | None:
    """The path and query of a same-site link worth following, or None."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != base or not parts.path:
        return None
    if SKIP.search(parts.path):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def axe_problems(axe, page) -> list[str]:
    found = []
    for violation in axe.run(page).response["violations"]:
        if violation["impact"] in BLOCKING_IMPACTS:
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            found.append(f"axe {violation['impact']} {violation['id']}: {violation['help']} at {targets}")
    return found


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def check_rendered(page, axe, path: str, here: str, axe_too: bool) -> list[str]:
    """Open `path` in the browser: labels, sideways scrolling at 1280 px and 390 px, and axe-core."""
    problems = []
    page.goto(path, wait_until="domcontentloaded")
    for label in page.evaluate(UNLABELLED):
        problems.append(f"{here}: no visible label for {label}")
    if axe_too:
        problems += [f"{here}: {p}" for p in axe_problems(axe, page)]
    if (over := page.evaluate(OVERFLOW)) > 0:
        problems.append(f"{here}: scrolls sideways by {over} px at 1280 px")
    page.set_viewport_size(VIEWPORTS["phone"])
    if (over := page.evaluate(OVERFLOW)) > 0:
        problems.append(f"{here}: scrolls sideways by {over} px at 390 px")
    page.set_viewport_size(VIEWPORTS["desktop"])
    return problems


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_role_crawl(browser, demo_server, axe, language, role):
    context, page = new_page(browser, demo_server, language, "desktop")
    started = time.monotonic()
    problems: list[str] = []
    visited: list[str] = []
    rendered = 0
    try:
        log_in(page, ROLES[role])
        choose_language(page, language)
        queue: deque[tuple[str, int]] = deque([("/", 0), ("/dashboard", 0)])
        seen = {pattern("/"), pattern("/dashboard")}
        while queue and len(visited) < MAX_PAGES:
            path, depth = queue.popleft()
            response = context.request.get(demo_server.url + path)
            visited.append(path)
            here = f"{path} [{role}, {language}]"
            if response.status >= 400:
                problems.append(f"{here}: HTTP {response.status}")
                continue
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            found = read_page(response.text())
            if depth < MAX_DEPTH:
                for link in found.hrefs:
                    target = same_site(urljoin(demo_server.url + path, link), demo_server.url)
                    if target and pattern(target) not in seen:
                        seen.add(pattern(target))
                        queue.append((target, depth + 1))
            # A page's shape: its pattern and the forms and fields it shows this role (the home page and the
            # dashboard differ by role whatever their forms).
            shape = pattern(path) + (f" @{role}" if pattern(path) in PER_ROLE else "") + " " + " ".join(
                sorted(found.controls))
            if (shape, language) not in RENDERED:
                RENDERED.add((shape, language))
                axe_too = shape not in AXE_SEEN
                AXE_SEEN.add(shape)
                problems += check_rendered(page, axe, path, here, axe_too)
                rendered += 1
    finally:
        context.close()
    known = [p for p in problems if any(p.startswith(page_pattern + " ") and text in p
                                         for page_pattern, text in KNOWN)]
    for problem in known:
        print(f"known, not failed: {problem}")
    problems = [p for p in problems if p not in known]
    print(f"\ncrawl {role} {language}: {len(visited)} pages fetched, {rendered} rendered, "
          f"{time.monotonic() - started:.1f} s")
    assert len(visited) >= 8, f"the crawl reached only {visited}"
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
