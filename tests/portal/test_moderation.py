"""Flagged content: people report campaigns, comments and ideas; admins hide, restore or dismiss from a queue.

Hidden content is gone for the public (lists, search, detail pages: 404) and kept, under a banner, for its
owner and admins; every decision is in the audit log and told to the author.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from funding.models import CampaignComment
from portal import audit
from portal.db import commit
from portal.extensions import db
from portal.moderation.models import Flag, FlagStatus
from tests.funding.factories import CampaignFactory
from tests.incubation.factories import IdeaFactory


@pytest.fixture
def world(factories):
    founder = factories.UserFactory(name="Founder Fang")
    campaign = CampaignFactory(title="Moderated smart kettle", project__organisation__owner=founder,
                               project__industry="Appliances")
    commenter = factories.UserFactory(name="Commenter Chen")
    comment = CampaignComment(campaign_id=campaign.id, author_id=commenter.id, body="Buy cheap watches at spam.example")
    db.session.add(comment)
    db.session.flush()
    return {"founder": founder, "campaign": campaign, "commenter": commenter, "comment": comment,
            "reporter": factories.UserFactory(name="Reporter Ren"), "admin": factories.UserFactory(roles=["admin"])}


def _flash(client, response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _report(client, kind: str, object_id: int, reason: str = "spam", note: str = ""):
    return client.post("/report", data={"kind": kind, "object_id": object_id, "reason": reason, "note": note})


def _decide(client, kind: str, object_id: int, decision: str, **extra):
    return client.post("/admin/moderation", data={"kind": kind, "object_id": object_id, "decision": decision,
                                                   **extra})


def _open_flags(kind: str, object_id: int) -> list[Flag]:
    return list(db.session.scalars(select(Flag).where(Flag.object_type == kind, Flag.object_id == object_id,
                                                      Flag.status == FlagStatus.OPEN)))


def test_a_user_flags_a_campaign_and_a_comment_and_a_second_flag_is_refused_cleanly(client, login, world):
    campaign, comment = world["campaign"], world["comment"]
    login(world["reporter"])

    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert f'data-flag="campaign-{campaign.id}"' in page and 'action="/report"' in page
    assert f'data-flag="campaign_comment-{comment.id}"' in page

    first = _flash(client, _report(client, "campaign", campaign.id, "misleading", "The goal looks fake"))
    assert "The moderators will look at your report" in first
    assert _flash(client, _report(client, "campaign_comment", comment.id)).count("The moderators will look") == 1

    again = _report(client, "campaign", campaign.id, "spam")
    assert again.status_code == 302  # not a 500, not a second row
    assert "You have already reported this" in _flash(client, again)
    flags = _open_flags("campaign", campaign.id)
    assert len(flags) == 1 and flags[0].reason == "misleading" and flags[0].note == "The goal looks fake"
    assert len(_open_flags("campaign_comment", comment.id)) == 1


def test_the_database_refuses_a_second_open_flag_of_one_person(world, db_session):
    campaign, reporter = world["campaign"], world["reporter"]
    db.session.add(Flag(object_type="campaign", object_id=campaign.id, reporter_id=reporter.id, reason="spam"))
    db.session.flush()
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(Flag(object_type="campaign", object_id=campaign.id, reporter_id=reporter.id,
                                reason="other"))
            db.session.flush()
    # A closed flag does not count: after a decision the same person may report again.
    db.session.scalars(select(Flag)).first().status = FlagStatus.DISMISSED
    db.session.add(Flag(object_type="campaign", object_id=campaign.id, reporter_id=reporter.id, reason="other"))
    db.session.flush()


def test_people_cannot_flag_their_own_content_nor_without_signing_in(client, login, world):
    campaign, comment = world["campaign"], world["comment"]
    assert _report(client, "campaign", campaign.id).status_code in (302, 401)
    login(world["founder"])
    assert _report(client, "campaign", campaign.id).status_code == 403
    client.post("/auth/logout")
    login(world["commenter"])
    assert _report(client, "campaign_comment", comment.id).status_code == 403
    assert _report(client, "campaign", 999999).status_code == 404
    assert _report(client, "nonsense", campaign.id).status_code == 400
    assert client.post("/report", data={"reason": "spam"}).status_code == 400
    assert _open_flags("campaign", campaign.id) == []


def test_the_admin_queue_lists_flags_grouped_per_object_with_reasons_and_counts_them(client, login, world,
                                                                                    factories):
    campaign = world["campaign"]
    login(world["reporter"])
    _report(client, "campaign", campaign.id, "misleading", "Photos are stolen")
    client.post("/auth/logout")
    login(factories.UserFactory())
    _report(client, "campaign", campaign.id, "spam")
    _report(client, "campaign_comment", world["comment"].id, "offensive")
    client.post("/auth/logout")

    login(world["admin"])
    html = client.get("/admin/queues/flags").get_data(as_text=True)
    assert "Moderated smart kettle" in html and "Buy cheap watches" in html
    assert html.count(f'data-flagged="campaign-{campaign.id}"') == 1  # one row per object
    assert "Misleading or a scam" in html and "Spam or advertising" in html and "Photos are stolen" in html
    assert re.search(r'data-queue-count="flags">2<', html)
    other_queue = client.get("/admin/queues/campaigns").get_data(as_text=True)
    assert re.search(r'data-queue-count="flags">2<', other_queue)
    assert 'href="/admin/queues/flags"' in client.get("/admin/").get_data(as_text=True)
    total = re.search(r"data-admin-queue-total>(\d+)<", client.get("/").get_data(as_text=True))
    assert total and int(total.group(1)) >= 2


def _search_titles(client, text: str) -> list[str]:
    response = client.get("/api/v1/search", query_string={"q": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["title"] for item in response.get_json()["items"]]


def test_hide_removes_a_campaign_for_the_public_but_not_for_its_team_and_restore_brings_it_back(
        client, login, world, factories, mail_outbox):
    campaign, founder = world["campaign"], world["founder"]
    commit()  # index the campaign (the outbox job runs after commit)
    assert "Moderated smart kettle" in _search_titles(client, "Moderated smart kettle")
    login(world["reporter"])
    _report(client, "campaign", campaign.id, "misleading")
    client.post("/auth/logout")

    login(world["admin"])
    done = _decide(client, "campaign", campaign.id, "hide", next="/admin/queues/flags")
    assert done.headers["Location"].endswith("/admin/queues/flags")
    queue = client.get("/admin/queues/flags").get_data(as_text=True)
    assert re.search(r'data-queue-count="flags">0<', queue) and f'data-hidden="campaign-{campaign.id}"' in queue
    admin_view = client.get(f"/campaigns/{campaign.id}")
    assert admin_view.status_code == 200 and "data-hidden-banner" in admin_view.get_data(as_text=True)
    client.post("/auth/logout")

    assert client.get(f"/campaigns/{campaign.id}").status_code == 404  # the public
    assert client.get(f"/campaigns/{campaign.id}/ledger").status_code == 404
    assert client.get(f"/api/v1/campaigns/{campaign.id}").status_code == 404
    assert "Moderated smart kettle" not in client.get("/campaigns/").get_data(as_text=True)
    assert "Moderated smart kettle" not in client.get("/").get_data(as_text=True)
    commit()
    assert "Moderated smart kettle" not in _search_titles(client, "Moderated smart kettle")
    login(world["reporter"])
    assert client.get(f"/campaigns/{campaign.id}").status_code == 404  # another signed-in person
    client.post("/auth/logout")

    login(founder)  # the team still sees it, with the banner
    own = client.get(f"/campaigns/{campaign.id}")
    assert own.status_code == 200 and "Hidden by moderators" in own.get_data(as_text=True)
    assert "Moderated smart kettle" in client.get("/campaigns/").get_data(as_text=True)
    client.post("/auth/logout")

    assert [m["To"] for m in mail_outbox if "Hidden by moderators" in m["Subject"]] == [founder.email]
    hidden_mail = next(m for m in mail_outbox if "Hidden by moderators" in m["Subject"])
    assert f"/campaigns/{campaign.id}" in hidden_mail.get_content()  # a link to the (still visible to them) page
    flags = db.session.scalars(select(Flag).where(Flag.object_id == campaign.id)).all()
    assert [f.status for f in flags] == [FlagStatus.UPHELD]

    login(world["admin"])
    assert _decide(client, "campaign", campaign.id, "restore").status_code == 302
    client.post("/auth/logout")
    assert client.get(f"/campaigns/{campaign.id}").status_code == 200
    assert "Moderated smart kettle" in client.get("/campaigns/").get_data(as_text=True)
    commit()
    assert "Moderated smart kettle" in _search_titles(client, "Moderated smart kettle")
    assert any("Visible again" in m["Subject"] for m in mail_outbox if m["To"] == founder.email)

    actions = [e.action for e in db.session.scalars(select(audit.AuditEvent).where(
        audit.AuditEvent.object_type == "Campaign", audit.AuditEvent.object_id == str(campaign.id)))]
    assert "moderation.hidden" in actions and "moderation.restored" in actions
    hidden = db.session.scalar(select(audit.AuditEvent).where(audit.AuditEvent.action == "moderation.hidden"))
    assert hidden.actor_id == world["admin"].id and hidden.after["flags_upheld"] == 1


def test_non_admins_cannot_decide(client, login, world):
    campaign = world["campaign"]
    for decision in ("hide", "restore", "dismiss"):
        assert _decide(client, "campaign", campaign.id, decision).status_code in (302, 401)
    for person in (world["reporter"], world["founder"]):
        login(person)
        for decision in ("hide", "restore", "dismiss"):
            assert _decide(client, "campaign", campaign.id, decision).status_code == 403
        assert client.get("/admin/queues/flags").status_code == 403
        client.post("/auth/logout")
    assert db.session.get(type(campaign), campaign.id).hidden_at is None


def test_a_hidden_comment_disappears_for_the_public_and_stays_for_its_author(client, login, world, mail_outbox):
    campaign, comment = world["campaign"], world["comment"]
    login(world["admin"])
    _decide(client, "campaign_comment", comment.id, "hide")
    client.post("/auth/logout")
    assert "Buy cheap watches" not in client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    login(world["commenter"])
    own = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Buy cheap watches" in own and "Hidden by moderators" in own
    assert [m["To"] for m in mail_outbox if "Hidden by moderators" in m["Subject"]] == [world["commenter"].email]


def test_dismissing_keeps_the_content_and_empties_the_queue(client, login, world):
    campaign = world["campaign"]
    login(world["reporter"])
    _report(client, "campaign", campaign.id)
    client.post("/auth/logout")
    login(world["admin"])
    _decide(client, "campaign", campaign.id, "dismiss")
    assert re.search(r'data-queue-count="flags">0<', client.get("/admin/queues/flags").get_data(as_text=True))
    assert [f.status for f in db.session.scalars(select(Flag))] == [FlagStatus.DISMISSED]
    assert db.session.scalar(select(audit.AuditEvent.id).where(audit.AuditEvent.action == "moderation.dismissed"))
    client.post("/auth/logout")
    assert client.get(f"/campaigns/{campaign.id}").status_code == 200


def test_ideas_and_their_comments_can_be_flagged_and_hidden(client, login, factories):
    from incubation.models import IdeaComment

    idea = IdeaFactory(title="Self-folding laundry basket")
    voice = factories.UserFactory()
    note = IdeaComment(idea_id=idea.id, author_id=voice.id, body="Rude words here")
    db.session.add(note)
    db.session.flush()
    login(factories.UserFactory())
    assert "The moderators will look" in _flash(client, _report(client, "idea", idea.id, "infringement"))
    assert "The moderators will look" in _flash(client, _report(client, "idea_comment", note.id, "offensive"))
    client.post("/auth/logout")

    login(factories.UserFactory(roles=["admin"]))
    queue = client.get("/admin/queues/flags").get_data(as_text=True)
    assert "Self-folding laundry basket" in queue and "Rude words here" in queue
    _decide(client, "idea", idea.id, "hide")
    client.post("/auth/logout")
    assert client.get(f"/ideas/{idea.id}").status_code == 404
    assert "Self-folding laundry basket" not in client.get("/ideas/").get_data(as_text=True)
    login(idea.author)
    assert client.get(f"/ideas/{idea.id}").status_code == 200
    assert "Self-folding laundry basket" in client.get("/ideas/").get_data(as_text=True)


def test_hidden_content_leaves_the_api_lists_and_the_home_page(client, factories):
    from portal.db import utcnow

    campaign = CampaignFactory(title="Hidden kettle campaign")
    idea = IdeaFactory(title="Hidden idea title")
    shown = CampaignFactory(title="Shown lamp campaign")
    comment = CampaignComment(campaign_id=shown.id, author_id=factories.UserFactory().id, body="Hidden remark")
    db.session.add(comment)
    db.session.flush()
    assert any(c["body"] == "Hidden remark"
               for c in client.get(f"/api/v1/campaigns/{shown.id}/comments").get_json()["items"])
    campaigns = {c["title"] for c in client.get("/api/v1/campaigns?per_page=100").get_json()["items"]}
    assert {"Hidden kettle campaign", "Shown lamp campaign"} <= campaigns
    campaign.hidden_at = idea.hidden_at = comment.hidden_at = utcnow()
    db.session.flush()
    campaigns = {c["title"] for c in client.get("/api/v1/campaigns?per_page=100").get_json()["items"]}
    assert "Hidden kettle campaign" not in campaigns and "Shown lamp campaign" in campaigns
    ideas = {i["title"] for i in client.get("/api/v1/ideas?per_page=100").get_json()["items"]}
    assert "Hidden idea title" not in ideas
    comments = client.get(f"/api/v1/campaigns/{shown.id}/comments").get_json()["items"]
    assert all(c["body"] != "Hidden remark" for c in comments)
    assert "Hidden idea title" not in client.get("/").get_data(as_text=True)
