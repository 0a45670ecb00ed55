"""Notifications (issue 12, point 5): every mail of `portal.mail.send_to_user` has a kind; people with an
account also get an in-app notice (the bell, the centre); per-kind preferences; one-click unsubscribe."""

from __future__ import annotations

import ast
import pathlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import portal.mail
from funding import notices, settlement
from funding import services as funding_services
from funding.community import post_comment, post_update
from funding.models import CampaignStatus
from funding.schemas import NewComment, NewPledge, NewUpdate
from incubation.schemas.programs import NewApplication
from incubation.services import apply_to_program, transition_project
from portal import jobs
from portal.auth.models import Role
from portal.db import commit, utcnow
from portal.errors import ValidationFailed
from portal.mail import send_to_user
from portal.notifications import services
from portal.notifications.kinds import KINDS
from portal.notifications.models import Notification, NotificationPreference
from tests.conftest import link_in
from tests.funding.factories import CampaignFactory, PledgeFactory
from tests.incubation.factories import company_with_staff, program_with_criteria, startup_with_founder

ROOT = pathlib.Path(__file__).resolve().parents[2]


def tell(user, kind="campaign.update", title="Kettle shipped", link="http://localhost/campaigns/7"):
    send_to_user(user, lambda: (title, f"Hello {user.name},\n\nThe kettles left the factory.\n{link}"), kind=kind)


def notices_of(db_session, user):
    return list(db_session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))




# ---- the mail path ---------------------------------------------------------------------------------

def test_a_mail_writes_an_in_app_notice_in_the_same_transaction_with_unsubscribe_headers(
        db_session, factories, mail_outbox):
    user = factories.UserFactory()
    tell(user)
    [pending] = [job for job in db_session.info[jobs.PENDING] if job.path == "portal.mail.deliver"]
    # The headers travel with the job (JSON), so they survive the queue.
    assert pending.args[3]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [notice] = notices_of(db_session, user)  # already in the transaction, before the commit
    assert notice.title == "Kettle shipped" and notice.kind == "campaign.update"
    assert notice.body == "The kettles left the factory." and notice.link == "/campaigns/7"
    commit()
    [mail] = mail_outbox
    assert mail["List-Unsubscribe"].startswith("<http://localhost/notifications/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = mail.get_content()
    assert "Unsubscribe from these mails: http://localhost/notifications/unsubscribe/" in body
    assert "Updates from campaigns you back" in body and "campaign.update" not in body


def test_a_rolled_back_change_leaves_neither_mail_nor_notice(db_session, factories, mail_outbox):
    user = factories.UserFactory()
    db_session.commit()
    tell(user)
    db_session.rollback()
    jobs.discard_pending()
    assert notices_of(db_session, user) == [] and mail_outbox == []


def test_unknown_kinds_are_refused_and_every_call_site_names_its_kind(db_session, factories):
    with pytest.raises(ValueError):
        tell(factories.UserFactory(), kind="no.such.kind")
    missing = []
    for package in ("portal", "funding", "incubation", "resources"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            fallbacks = {id(call) for handler in ast.walk(tree) if isinstance(handler, ast.ExceptHandler)
                         and getattr(handler.type, "id", None) == "ImportError"
                         for call in ast.walk(handler)}  # "without portal.notifications, a plain mail"
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and id(node) not in fallbacks:
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in ("send_to_user", "send_to_users", "mail_booker", "mail_staff") \
                            and not any(k.arg == "kind" for k in node.keywords) and len(node.args) < 3:
                        missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert missing == []


# ---- the centre and the bell -----------------------------------------------------------------------

def test_centre_bell_mark_read_and_mark_all_read(client, login, factories, db_session):
    user = factories.UserFactory()
    for number in range(3):
        tell(user, title=f"Notice {number}")
    login(user)
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.index("Notice 2") < page.index("Notice 1") < page.index("Notice 0")  # newest first
    assert 'data-unread-count>3<' in page and "Updates from campaigns you back" in page
    assert "campaign.update" not in page  # the kind's label, never its key
    first, second, third = notices_of(db_session, user)
    opened = client.get(f"/notifications/{third.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"] == "/campaigns/7"
    assert client.post(f"/notifications/{second.id}/read").status_code == 302
    assert 'data-unread-count>1<' in client.get("/notifications/").get_data(as_text=True)
    assert client.post("/notifications/read-all").status_code == 302
    page = client.get("/notifications/").get_data(as_text=True)
    assert "data-unread-count" not in page
    assert services.unread_count(user) == 0


def test_centre_pages_in_the_database_and_shows_only_ones_own(client, login, factories, db_session):
    user, other = factories.UserFactory(), factories.UserFactory()
    start = utcnow() - timedelta(days=1)
    for number in range(25):
        db_session.add(Notification(user_id=user.id, kind="general", title=f"N{number:02d}", body="",
                                    link="", created_at=start + timedelta(minutes=number)))
    tell(other, title="Not yours")
    login(user)
    first = client.get("/notifications/").get_data(as_text=True)
    assert "N24" in first and "N05" in first and "N04" not in first and "Not yours" not in first
    second = client.get("/notifications/?page=2").get_data(as_text=True)
    assert "N04" in second and "N00" in second and "N05" not in second
    theirs = notices_of(db_session, other)[0]
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 403
    assert client.get(f"/notifications/{theirs.id}/open").status_code == 403


def test_the_centre_needs_a_login(client):
    assert client.get("/notifications/").status_code in (302, 401)


# ---- preferences -----------------------------------------------------------------------------------

def test_preferences_page_switches_mail_and_in_app_per_kind(client, login, factories, db_session, mail_outbox):
    user = factories.UserFactory()
    login(user)
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "Updates from campaigns you back" in page and "Password reset" in page
    assert "Notification settings" in client.get("/auth/account").get_data(as_text=True)
    # Mail off for updates, in-app off for comments; everything else as it was.
    data = {"kind": list(KINDS)}
    for key in KINDS:
        if key != "campaign.update":
            data[f"mail:{key}"] = "on"
        if key != "campaign.comment":
            data[f"in_app:{key}"] = "on"
    assert client.post("/notifications/preferences", data=data).status_code == 302
    tell(user, kind="campaign.update", title="Update")
    tell(user, kind="campaign.comment", title="Comment")
    commit()
    assert [m["Subject"] for m in mail_outbox] == ["Comment"]
    assert [n.title for n in notices_of(db_session, user)] == ["Update"]
    choices = services.all_preferences(user)
    assert not choices["campaign.update"].mail and choices["campaign.update"].in_app
    assert choices["campaign.comment"].mail and not choices["campaign.comment"].in_app


def test_security_mails_cannot_be_switched_off(client, login, factories, db_session, mail_outbox):
    user = factories.UserFactory()
    login(user)
    # The form without any box ticked: required kinds keep their mail.
    assert client.post("/notifications/preferences", data={"kind": list(KINDS)}).status_code == 302
    with pytest.raises(ValidationFailed):
        services.set_preference(user, "account.password_reset", mail=False)
    client.post("/auth/logout")
    mail_outbox.clear()
    client.post("/auth/forgot-password", data={"email": user.email})
    [mail] = [m for m in mail_outbox if m["To"] == user.email]
    assert mail["Subject"] == "Reset your password" and mail["List-Unsubscribe"] is None
    assert "always sent" in mail.get_content()
    assert notices_of(db_session, user) == []  # a reset link has no place in the centre
    token = services.unsubscribe_token(user.id, "account.password_reset")
    assert client.post(f"/notifications/unsubscribe/{token}").status_code == 400


def test_invitations_are_always_mailed_and_shown_in_the_app(client, login, factories, db_session, mail_outbox):
    owner, invitee = factories.UserFactory(), factories.UserFactory()
    organisation = factories.OrganisationFactory(owner=owner)
    services.set_preference(invitee, "organisation.invitation", in_app=False)
    db_session.add(NotificationPreference(user_id=owner.id, kind="general", mail=False, in_app=False))
    login(owner)
    response = client.post(f"/organisations/{organisation.id}", data={"email": invitee.email, "role": "member"})
    assert response.status_code == 302
    assert [m["To"] for m in mail_outbox] == [invitee.email]
    assert mail_outbox[0]["List-Unsubscribe"] is None


# ---- unsubscribing without a login ------------------------------------------------------------------

def test_unsubscribe_link_confirms_on_get_and_unsubscribes_on_post(client, factories, db_session, mail_outbox):
    user = factories.UserFactory()
    tell(user)
    commit()
    path = link_in(mail_outbox[0], "/notifications/unsubscribe/")
    page = client.get(path)
    assert page.status_code == 200 and "Updates from campaigns you back" in page.get_data(as_text=True)
    assert services.all_preferences(user)["campaign.update"].mail  # a GET (a link scanner) changes nothing
    done = client.post(path)
    assert done.status_code == 200 and 'id="unsubscribe-done"' in done.get_data(as_text=True)
    assert not services.all_preferences(user)["campaign.update"].mail
    mail_outbox.clear()
    tell(user, title="After")
    commit()
    assert mail_outbox == [] and notices_of(db_session, user)[-1].title == "After"


def test_one_click_post_from_a_mail_program_needs_no_session_and_no_csrf(client, csrf_enabled, factories,
                                                                        db_session, mail_outbox):
    user = factories.UserFactory()
    tell(user, kind="booking.reminder")
    commit()
    url = mail_outbox[0]["List-Unsubscribe"].strip("<>")
    response = client.post(url.replace("http://localhost", ""), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not services.all_preferences(user)["booking.reminder"].mail
    assert services.all_preferences(user)["campaign.update"].mail  # only that kind
    forged = client.post(url.replace("http://localhost", "")[:-3] + "abc")
    assert forged.status_code == 400


# ---- languages -------------------------------------------------------------------------------------

def test_mail_and_notice_are_in_the_recipients_language(db_session, factories, mail_outbox, mail_locales):
    zh = factories.UserFactory(locale="zh_CN")
    en = factories.UserFactory(locale="en")
    from flask_babel import gettext as _

    portal.mail.send_to_users([zh, en], lambda: (_("Booking confirmed"), _("Booking confirmed")),
                              kind="booking.confirmed")
    commit()
    assert sorted(mail_locales) == sorted([(zh.email, "zh"), (en.email, "en")])
    subjects = {m["To"]: m["Subject"] for m in mail_outbox}
    assert subjects[en.email] == "Booking confirmed" and subjects[zh.email] != "Booking confirmed"
    assert notices_of(db_session, zh)[0].title == subjects[zh.email]


# ---- the mails issue 12 added, each on its event ---------------------------------------------------

def team_campaign(factories, **fields):
    founder, startup, project = startup_with_founder(status="incubating")
    return founder, CampaignFactory(project=project, **fields)


def test_pledge_receipt(db_session, factories, mail_outbox, mail_locales):
    _founder, campaign = team_campaign(factories, title="Kettle")
    backer = factories.UserFactory(roles=[Role.BACKER], locale="zh_CN")
    pledge = funding_services.place_pledge(campaign, backer, NewPledge(amount=500_00), require_card=False)
    commit()
    [mail] = [m for m in mail_outbox if m["To"] == backer.email]
    assert (backer.email, "zh") in mail_locales
    assert f"/pledges/{pledge.id}" in notices_of(db_session, backer)[0].link
    assert "Kettle" in mail["Subject"] and mail["List-Unsubscribe"]


def test_campaign_submitted_approved_and_rejected(db_session, factories, mail_outbox):
    admin = factories.UserFactory(roles=[Role.ADMIN])
    founder, campaign = team_campaign(factories, status=CampaignStatus.DRAFT, title="Lamp")
    funding_services.submit_campaign(campaign)
    commit()
    assert [m["To"] for m in mail_outbox] == [admin.email] and "Lamp" in mail_outbox[0]["Subject"]
    assert notices_of(db_session, admin)[0].kind == "campaign.submitted"
    mail_outbox.clear()
    funding_services.approve_campaign(campaign)
    commit()
    assert [m["To"] for m in mail_outbox] == [founder.email] and "approved" in mail_outbox[0]["Subject"]
    _founder2, other = team_campaign(factories, status=CampaignStatus.SUBMITTED, title="Fan")
    mail_outbox.clear()
    funding_services.reject_campaign(other, "Photos missing")
    commit()
    assert other.status == CampaignStatus.CANCELLED
    assert "Photos missing" in mail_outbox[0].get_content() and "not approved" in mail_outbox[0]["Subject"]


@pytest.mark.parametrize("funded", [True, False])
def test_campaign_funded_or_failed_tells_the_team(db_session, factories, mail_outbox, provider, funded):
    founder, campaign = team_campaign(factories, goal_amount=1000_00, title="Stove",
                                      deadline=utcnow() - timedelta(minutes=5))
    PledgeFactory(campaign=campaign, amount=1500_00 if funded else 100_00)
    settlement.settle()
    [mail] = [m for m in mail_outbox if m["To"] == founder.email]
    assert mail["Subject"] == ("Stove is funded" if funded else "Stove did not reach its goal")
    assert notices_of(db_session, founder)[0].kind == "campaign.outcome"




def test_updates_reach_the_backers_including_backers_only_ones(db_session, factories, mail_outbox):
    founder, campaign = team_campaign(factories, title="Desk")
    backer = PledgeFactory(campaign=campaign).backer
    bystander = factories.UserFactory()
    post_update(campaign, founder, NewUpdate(title="Tooling done", body="Moulds arrived.", backers_only=True))
    commit()
    assert [m["To"] for m in mail_outbox] == [backer.email]
    assert "Tooling done" in mail_outbox[0]["Subject"] and "Moulds arrived." in mail_outbox[0].get_content()
    assert notices_of(db_session, bystander) == [] and notices_of(db_session, founder) == []


def test_questions_answers_and_comments(db_session, factories, mail_outbox):
    founder, campaign = team_campaign(factories, title="Chair")
    asker = factories.UserFactory()
    question = post_comment(campaign, asker, NewComment(body="Does it fold?", is_question=True))
    commit()
    assert [m["To"] for m in mail_outbox] == [founder.email] and "question" in mail_outbox[0]["Subject"]
    mail_outbox.clear()
    post_comment(campaign, founder, NewComment(body="Yes, flat.", parent_id=question.id))
    commit()
    assert [m["To"] for m in mail_outbox] == [asker.email] and "Yes, flat." in mail_outbox[0].get_content()
    assert notices_of(db_session, asker)[0].link == f"/campaigns/{campaign.id}#comments"
    mail_outbox.clear()
    post_comment(campaign, asker, NewComment(body="Great chair"))
    commit()
    assert [m["To"] for m in mail_outbox] == [founder.email] and "comment" in mail_outbox[0]["Subject"]


def test_an_application_reaches_the_programs_managers(db_session, factories, mail_outbox):
    staff, company = company_with_staff()
    founder, _startup, project = startup_with_founder(status="submitted")
    program = program_with_criteria(company, mode=project.mode, title="Spring cohort")
    application = apply_to_program(program, project, founder, NewApplication(project_id=project.id))
    commit()
    [mail] = [m for m in mail_outbox if m["To"] == staff.email]
    assert "Spring cohort" in mail["Subject"]
    assert notices_of(db_session, staff)[0].link == f"/applications/{application.id}"


def test_project_transitions_reach_the_founders_and_submissions_the_admins(db_session, factories, mail_outbox):
    admin = factories.UserFactory(roles=[Role.ADMIN])
    founder, _startup, project = startup_with_founder(status="draft", title="Heat pump")
    transition_project(project, "submitted", actor=founder)
    commit()
    assert sorted(m["To"] for m in mail_outbox) == sorted([founder.email, admin.email])
    assert notices_of(db_session, admin)[0].kind == "project.submitted"
    mail_outbox.clear()
    transition_project(project, "screening", actor=admin)  # told by the application's review mails
    commit()
    assert mail_outbox == []
    transition_project(project, "accepted", actor=admin)
    commit()
    [mail] = mail_outbox
    assert mail["To"] == founder.email and mail["Subject"] == "Heat pump: Accepted"
    assert "from Screening to Accepted" in mail.get_content()


def test_booking_reminder_the_day_before_is_sent_once(db_session, factories, mail_outbox):
    from resources.bookings.mail import send_reminders
    from tests.resources.factories import BookingFactory

    booker = factories.UserFactory()
    soon = utcnow() + timedelta(hours=20)
    booking = BookingFactory(user=booker, start_at=soon, created_at=utcnow() - timedelta(days=3))
    BookingFactory(start_at=utcnow() + timedelta(days=3), created_at=utcnow() - timedelta(days=3))  # later
    BookingFactory(start_at=soon, status="cancelled", created_at=utcnow() - timedelta(days=3))
    assert send_reminders() == 1
    commit()
    [mail] = mail_outbox
    assert mail["To"] == booker.email and booking.resource.name in mail["Subject"]
    assert notices_of(db_session, booker)[0].kind == "booking.reminder"
    assert send_reminders() == 0  # once
    assert "resources.booking_reminders" in jobs.PERIODIC


def test_funding_notices_module_has_one_sender_per_event():
    names = {"campaign_submitted", "campaign_approved", "campaign_rejected", "campaign_ended", "pledge_receipt",
             "update_posted", "comment_posted"}
    assert names <= set(dir(notices))


def test_every_kind_has_a_label_and_the_ones_in_use_exist(db_session):
    assert all(str(kind.label) and "." not in str(kind.label) for kind in KINDS.values())
    assert db_session.scalar(select(func.count()).select_from(NotificationPreference)) == 0


# ---- the API ---------------------------------------------------------------------------------------

def test_api_lists_and_marks_read(client, factories, bearer, db_session):
    user, other = factories.UserFactory(), factories.UserFactory()
    tell(user, title="First")
    tell(user, title="Second", kind="booking.reminder")
    tell(other, title="Theirs")
    headers = bearer(user)
    assert client.get("/api/v1/notifications").status_code == 401
    listed = client.get("/api/v1/notifications", headers=headers).json
    assert [i["title"] for i in listed["items"]] == ["Second", "First"] and listed["unread"] == 2
    assert listed["items"][0]["kind"] == "booking.reminder"
    assert listed["items"][0]["kind_label"] == "Reminders the day before a booking"
    first = listed["items"][1]
    read = client.post(f"/api/v1/notifications/{first['id']}/read", headers=headers)
    assert read.status_code == 200 and read.json["read_at"]
    unread = client.get("/api/v1/notifications?unread=true", headers=headers).json
    assert [i["title"] for i in unread["items"]] == ["Second"] and unread["unread"] == 1
    theirs = notices_of(db_session, other)[0]
    assert client.post(f"/api/v1/notifications/{theirs.id}/read", headers=headers).status_code == 403
    assert client.post("/api/v1/notifications/read", headers=headers).json == {"marked": 1, "unread": 0}


def test_admins_reject_a_campaign_over_the_api_and_the_team_is_told(client, factories, bearer, mail_outbox):
    admin = factories.UserFactory(roles=[Role.ADMIN])
    founder, campaign = team_campaign(factories, status=CampaignStatus.SUBMITTED, title="Heater")
    assert client.post(f"/api/v1/campaigns/{campaign.id}/reject", headers=bearer(founder),
                       json={"reason": "x"}).status_code == 403
    response = client.post(f"/api/v1/campaigns/{campaign.id}/reject", headers=bearer(admin),
                           json={"reason": "Needs a safety certificate"})
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    [mail] = [m for m in mail_outbox if m["To"] == founder.email]
    assert "Needs a safety certificate" in mail.get_content()
    again = client.post(f"/api/v1/campaigns/{campaign.id}/reject", headers=bearer(admin), json={"reason": "x"})
    assert again.status_code == 409


def test_old_notices_are_purged_by_a_periodic_job(db_session, factories):
    user = factories.UserFactory()
    now = utcnow()
    for title, age, read in (("old read", 200, True), ("old unread", 200, False), ("ancient", 400, False),
                             ("recent read", 10, True)):
        db_session.add(Notification(user_id=user.id, kind="general", title=title, body="", link="",
                                    created_at=now - timedelta(days=age),
                                    read_at=now - timedelta(days=age) if read else None))
    assert services.first_time("test:once") and not services.first_time("test:once")
    assert services.purge_old(now) == 2
    assert sorted(n.title for n in notices_of(db_session, user)) == ["old unread", "recent read"]
    assert "notifications.purge" in jobs.PERIODIC


def test_a_comment_on_an_idea_reaches_its_author(db_session, factories, mail_outbox):
    from incubation.schemas.ideas import NewComment as NewIdeaComment
    from incubation.services import comment_on_idea
    from tests.incubation.factories import IdeaFactory

    author, commenter = factories.UserFactory(), factories.UserFactory()
    idea = IdeaFactory(author=author, title="Quiet fan")
    comment_on_idea(idea, commenter, NewIdeaComment(body="I would buy two"))
    comment_on_idea(idea, author, NewIdeaComment(body="Thanks"))  # not to oneself
    commit()
    [mail] = mail_outbox
    assert mail["To"] == author.email and "Quiet fan" in mail["Subject"] and "I would buy two" in mail.get_content()
    assert notices_of(db_session, author)[0].link.startswith(f"/ideas/{idea.id}#comment-")
