"""Images in headless Chromium (issue 12, point 4): an owner uploads an organisation logo and sees it on the
organisations list, lazy-loaded with alt text and its size, in English and Chinese, at desktop and phone
widths; organisations without a logo show the initials placeholder; a non-image is refused naming the field.
"""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from tests.e2e.conftest import ARTIFACTS, LANGUAGES, VIEWPORTS, new_page

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-e2e"


def logo_png() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (300, 300), (11, 92, 173))
    image.paste((255, 180, 0), (90, 90, 210, 210))
    image.save(out, "PNG")
    return out.getvalue()


def owner_with_organisation(server, language: str) -> tuple[str, int, int]:
    """A founder owning a startup with no logo, and a second organisation without one (for the placeholder)."""
    from portal.auth.models import Role, User, UserRole
    from portal.auth.services import hash_password
    from portal.db import utcnow
    from portal.extensions import db
    from portal.organisations.models import MemberRole, Membership, Organisation

    tag = uuid.uuid4().hex[:6]
    with server.app.app_context():
        user = User(email=f"logo-{tag}@example.com", name=f"Logo Owner {tag}", password_hash=hash_password(PASSWORD),
                    locale=language, confirmed_at=utcnow())
        user.role_rows = [UserRole(role=Role.FOUNDER)]
        db.session.add(user)
        db.session.flush()
        organisation = Organisation(name=f"Lotus Robotics {tag}", kind="startup", city="Qingdao",
                                    description="Robots for small kitchens.")
        organisation.memberships.append(Membership(user_id=user.id, role=MemberRole.OWNER))
        other = Organisation(name=f"Orchid Labs {tag}", kind="startup", city="Shanghai", description="No logo yet.")
        db.session.add_all([organisation, other])
        db.session.commit()
        found = user.email, organisation.id, other.id
        db.session.remove()
    return found


def log_in_as(page, email: str) -> None:
    page.goto("/auth/login")
    form = page.get_by_role("main").locator("form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").click()
    page.wait_for_url("**/dashboard")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_owner_uploads_a_logo_and_sees_it_on_the_organisations_list(browser, live_server, language, viewport):
    from playwright.sync_api import expect

    email, organisation_id, other_id = owner_with_organisation(live_server, language)
    context, page = new_page(browser, live_server, language, viewport)
    try:
        log_in_as(page, email)
        assert page.evaluate("document.documentElement.lang") == ("zh-CN" if language == "zh_CN" else "en")

        # A text file named .png is refused, naming the field.
        page.goto(f"/organisations/{organisation_id}/edit")
        page.locator("input#logo").set_input_files({"name": "logo.png", "mimeType": "image/png", "buffer": b"not a picture"})
        page.locator("form[action$='/logo'] button[type=submit]").first.click()
        expect(page.locator("input#logo ~ .invalid-feedback").first).to_be_visible()
        assert page.locator("input#logo").evaluate("el => el.classList.contains('is-invalid')")

        # A real PNG is taken; its thumbnail is made after the commit.
        page.locator("input#logo").set_input_files({"name": "logo.png", "mimeType": "image/png", "buffer": logo_png()})
        page.locator("form[action$='/logo'] button[type=submit]").first.click()
        expect(page.locator(".alert-success")).to_be_visible()

        page.goto("/organisations/")
        logo = page.locator(f"img[src*='/images/organisation-logo/{organisation_id}/']")
        expect(logo).to_have_count(1)
        assert logo.get_attribute("loading") == "lazy"
        assert logo.get_attribute("alt") and "Lotus Robotics" in logo.get_attribute("alt")
        assert logo.get_attribute("width") and logo.get_attribute("height")
        logo.scroll_into_view_if_needed()
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=logo.element_handle())
        box = logo.bounding_box()
        assert box and 40 <= box["width"] <= 120 and abs(box["width"] - box["height"]) < 2  # a square logo

        # The other organisation has no logo: the neutral placeholder with its initials.
        card = page.locator(".card", has=page.locator(f"a[href$='/organisations/{other_id}']"))
        placeholder = card.locator(".img-placeholder")
        expect(placeholder).to_have_text("OL")
        assert placeholder.get_attribute("role") == "img" and placeholder.get_attribute("aria-label")

        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"images-organisations-{language}-{viewport}.png"))
    finally:
        context.close()
