"""No raw value a person reads: every status, kind, mode and role has a translated label, pages print
labels (zh-CN included), and times are shown without seconds in one date format per locale."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from flask import render_template_string
from flask_babel import force_locale
from sqlalchemy import select

import funding.models  # noqa: F401  (the domain models define the enums; import them all)
import incubation.models  # noqa: F401
import portal.auth.models  # noqa: F401
import portal.moderation.models  # noqa: F401
import portal.organisations.models  # noqa: F401
import resources.models  # noqa: F401
from portal.states import LABELS, Choice, Status, label_for
from tests.resources.conftest import company, resource_factories  # noqa: F401  (fixtures of another area)

ZH = "zh_Hans_CN"


def all_enums() -> list[type[Choice]]:
    found, todo = [], list(Choice.__subclasses__())
    while todo:
        enum = todo.pop()
        todo.extend(enum.__subclasses__())
        if list(enum):  # `Status` itself has no member
            found.append(enum)
    return sorted(found, key=lambda e: e.__name__)


def members() -> list[tuple[type[Choice], Choice]]:
    return [(enum, member) for enum in all_enums() for member in enum]


def test_the_net_finds_every_kind_of_enum():
    names = {enum.__name__ for enum in all_enums()}
    # statuses, ledger kinds, incubation modes, membership/invitation roles and statuses
    assert {"BookingStatus", "PledgeStatus", "LedgerKind", "IncubationMode", "MemberRole", "InvitationStatus",
            "Role", "CampaignStatus", "ProjectStatus"} <= names
    assert all(issubclass(enum, Choice) for enum in all_enums()) and Status in Choice.__subclasses__()
    assert set(LABELS) >= names, f"enums without a label table: {names - set(LABELS)}"


@pytest.mark.parametrize(("enum", "member"), members(), ids=lambda x: getattr(x, "__name__", None) or str(x))
def test_every_member_has_a_translated_label(app, enum, member):
    template = "{{ value | label(enum) }}"
    with app.test_request_context():
        with force_locale("en"):
            english = html.unescape(render_template_string(template, value=str(member), enum=enum.__name__))
            assert english == member.label == label_for(member)
        with force_locale(ZH):
            chinese = html.unescape(render_template_string(template, value=str(member), enum=enum.__name__))
    assert member.value in LABELS[enum.__name__], f"{enum.__name__}.{member.name} has no label"
    assert english.strip() and chinese.strip()
    if re.search(r"[a-z]{2}", member.value):  # a word, not a code
        assert chinese != member.value and chinese != english, (
            f"{enum.__name__}.{member.name}: {chinese!r} is not translated to zh-CN")


def test_unknown_values_pass_through_and_none_is_empty(app):
    with app.test_request_context():
        assert label_for("free text") == "free text" and label_for(None) == ""
        with force_locale(ZH):
            assert label_for("spin_off", "IncubationMode") == "裂变孵化"
            assert label_for("confirmed") == "已确认"  # without a hint, the first table listing the value


def test_times_have_no_seconds_and_one_date_format(app):
    from portal.templating import local_time

    moment = datetime(2026, 12, 1, 10, 7, 42, tzinfo=UTC)
    with app.test_request_context():
        for locale, date_part in (("en", "Dec 1, 2026"), (ZH, "2026年12月1日")):
            with force_locale(locale):
                shown = {fmt: local_time(moment, "Asia/Shanghai", fmt) for fmt in ("medium", "short")}
                shown["reader"] = local_time(moment)
            for text in shown.values():
                assert text.startswith(date_part), shown
                assert ":42" not in text and not re.search(r"\d:\d\d:\d\d", text), shown
            assert shown["medium"] == shown["short"]


def test_a_booking_page_in_zh_cn_shows_labels_not_raw_statuses(client, db_session, login, factories,
                                                                 resource_factories, company):  # noqa: F811
    from resources.models import Booking, BookingStatus

    organisation, _staff = company
    lab = resource_factories.ResourceFactory(organisation=organisation, name="Label lab", min_minutes=60)
    user = login(factories.UserFactory(locale="zh_CN"))
    from tests.resources.helpers import next_weekday

    monday = next_weekday(0)
    response = client.post(f"/resources/{lab.id}/book", data={
        "start": f"{monday}T10:00", "end": f"{monday}T11:00", "purpose": "Labels",
        "accept_terms_version": "1", "action": "book"})
    assert response.status_code == 302, response.get_data(as_text=True)
    booking = db_session.scalar(select(Booking).where(Booking.user_id == user.id))
    assert booking.status == BookingStatus.CONFIRMED
    for url in ("/resources/bookings", f"/resources/bookings/{booking.id}"):
        page = client.get(url)
        if page.status_code == 404:
            continue
        html = page.get_data(as_text=True)
        assert page.status_code == 200, url
        assert "已确认" in html, url
        assert not re.search(r">\s*confirmed\s*<", html), url
        assert not re.search(r"\d\d:\d\d:\d\d", re.sub(r'(datetime|value|data-[a-z-]+)="[^"]*"', "", html)), url


def test_the_ledger_in_zh_cn_shows_kinds_as_labels(client, factories, provider):  # noqa: F811
    from datetime import timedelta

    from funding import settlement
    from portal.auth.models import Role
    from portal.db import utcnow
    from portal.extensions import db
    from tests.funding.factories import CampaignFactory, PledgeFactory
    from tests.incubation.factories import ProjectFactory

    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    campaign = CampaignFactory(project=ProjectFactory(organisation=startup), goal_amount=1000_00,
                               deadline=utcnow() - timedelta(minutes=1), title="Label campaign")
    PledgeFactory(campaign=campaign, amount=1200_00)
    settlement.settle()
    db.session.expire_all()
    html = client.get(f"/campaigns/{campaign.id}/ledger",
                      headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    for raw in ("pledged", "collected", "stripe_fee", "platform_fee"):
        assert not re.search(rf"<td>\s*{raw}\s*</td>", html), raw
    assert "已扣款" in html  # "Collected"
    assert not re.search(r"\d\d:\d\d:\d\d", re.sub(r'(datetime|value|data-[a-z-]+)="[^"]*"', "", html))


def test_an_invitation_mail_in_zh_cn_names_the_role_not_its_value(client, factories, bearer, mail_outbox):
    owner, newcomer = factories.UserFactory(), factories.UserFactory(locale="zh_CN")
    organisation = factories.OrganisationFactory(owner=owner)
    invited = client.post(f"/api/v1/organisations/{organisation.id}/members", headers=bearer(owner),
                          json={"email": newcomer.email, "role": "member"})
    assert invited.status_code == 201
    mail = mail_outbox[-1]
    text = mail.get_body(("plain",)).get_content() if hasattr(mail, "get_body") else str(mail)
    assert "以成员身份" in text and "member" not in text.split("http")[0]


def test_an_apply_refusal_names_the_mode_by_its_label(app, db_session):
    from incubation.models import IncubationMode
    from incubation.services.programs import program_gate_failure
    from tests.incubation.factories import ProgramFactory, ProjectFactory

    program = ProgramFactory(mode=IncubationMode.SPIN_OFF)
    project = ProjectFactory(mode=IncubationMode.CROWDFUNDING)
    with app.test_request_context():
        with force_locale("en"):
            english = program_gate_failure(program, project)
        with force_locale(ZH):
            chinese = program_gate_failure(program, project)
    assert "Spin-off incubation" in english and "spin_off" not in english
    assert "裂变孵化" in chinese and "spin_off" not in chinese


def test_forms_pages_and_mails_read_the_one_label_table(app):
    """The forms' choices, the pages' label dicts and the booking mail take their labels from
    portal.states.LABELS: one table, so a label changed there changes everywhere."""
    from funding.views import common as funding_common
    from incubation import forms as incubation_forms
    from resources import forms as resources_forms
    from resources.bookings.mail import booking_status_label

    tables = {
        "FundingModel": funding_common.FUNDING_MODEL_LABELS, "CampaignStatus": funding_common.CAMPAIGN_STATUS_LABELS,
        "PledgeStatus": funding_common.PLEDGE_STATUS_LABELS, "ProjectStatus": incubation_forms.STATUS_LABELS,
        "ApplicationStatus": incubation_forms.APPLICATION_STATUS_LABELS, "ResourceKind": resources_forms.KIND_LABELS,
        "Audience": resources_forms.AUDIENCE_LABELS, "PriceUnit": resources_forms.UNIT_LABELS,
        "BlackoutKind": resources_forms.BLACKOUT_KIND_LABELS,
        "ProjectStage": dict(incubation_forms.STAGE_CHOICES), "IncubationMode": dict(incubation_forms.MODE_CHOICES),
        "Confidentiality": dict(incubation_forms.CONFIDENTIALITY_CHOICES),
        "Recommendation": dict(incubation_forms.RECOMMENDATION_CHOICES),
        "ChainStage": dict(incubation_forms.CHAIN_CHOICES), "SupportStatus": dict(incubation_forms.SUPPORT_STATUS_CHOICES),
    }
    for name, table in tables.items():
        assert table == LABELS[name] or table is LABELS[name], name
    finish = dict(resources_forms.FinishForm.status.kwargs["choices"])
    assert finish == {k: LABELS["BookingStatus"][k] for k in ("completed", "no_show")}
    with app.test_request_context():
        for locale in ("en", ZH):
            with force_locale(locale):
                for status in LABELS["BookingStatus"]:
                    assert booking_status_label(status) == label_for(status, "BookingStatus")
        with force_locale(ZH):
            assert booking_status_label("confirmed") == "已确认"
            # Lookups by enum member and by stored string agree (StrEnum members hash as their value).
            from funding.models import PledgeStatus
            assert str(funding_common.PLEDGE_STATUS_LABELS[PledgeStatus.COLLECTED]) == "已扣款"
