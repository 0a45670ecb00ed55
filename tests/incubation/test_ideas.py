"""Co-creation: ideas, one vote per user, comments, adoption into a project with the voters notified."""

from __future__ import annotations

from sqlalchemy import func, select

from incubation.models import IdeaVote, Project
from portal.extensions import db
from tests.incubation.factories import IdeaFactory, IdeaVoteFactory, startup_with_founder


def test_post_vote_once_and_comment(client, factories, bearer):
    author, voter = factories.UserFactory(roles=["backer"]), factories.UserFactory(roles=["backer"])
    created = client.post("/api/v1/ideas", headers=bearer(author),
                          json={"title": "Self-cleaning AC filter", "description": "No more monthly washing"})
    assert created.status_code == 201 and created.json["votes"] == 0
    idea_id = created.json["id"]
    assert client.post("/api/v1/ideas", headers=bearer(author), json={"description": "x"}).status_code == 400
    assert client.post(f"/api/v1/ideas/{idea_id}/votes").status_code == 401
    first = client.post(f"/api/v1/ideas/{idea_id}/votes", headers=bearer(voter))
    assert first.status_code == 201 and first.json["votes"] == 1
    second = client.post(f"/api/v1/ideas/{idea_id}/votes", headers=bearer(voter))
    assert second.status_code == 409 and second.json["error"]["code"] == "conflict"
    assert db.session.scalar(select(func.count()).select_from(IdeaVote)) == 1
    comment = client.post(f"/api/v1/ideas/{idea_id}/comments", headers=bearer(voter),
                          json={"body": "Borrow the robot vacuum's dust box"})
    assert comment.status_code == 201
    assert client.post(f"/api/v1/ideas/{idea_id}/comments", headers=bearer(voter), json={"body": " "}).status_code == 400
    detail = client.get(f"/api/v1/ideas/{idea_id}").json
    assert detail["votes"] == 1 and detail["comments"][0]["body"] == "Borrow the robot vacuum's dust box"
    assert client.get("/api/v1/ideas").json["items"][0]["id"] == idea_id


def test_founder_adopts_an_idea_and_the_voters_hear_about_it(client, factories, bearer, mail_outbox, login):
    idea = IdeaFactory(title="Balcony herb garden")
    voters = [IdeaVoteFactory(idea=idea).user for _ in range(3)]
    founder, _startup, project = startup_with_founder(status="submitted", title="GardenBox")
    IdeaVoteFactory(idea=idea, user=founder)
    headers = bearer(founder)
    outsider = bearer(factories.UserFactory())
    assert client.post(f"/api/v1/ideas/{idea.id}/adoptions", headers=outsider,
                       json={"project_id": project.id}).status_code == 403
    mail_outbox.clear()
    adopted = client.post(f"/api/v1/ideas/{idea.id}/adoptions", headers=headers, json={"project_id": project.id})
    assert adopted.status_code == 201 and adopted.json["idea_id"] == idea.id
    notified = sorted(m["To"] for m in mail_outbox)
    assert notified == sorted([v.email for v in voters] + [idea.author.email])  # not the adopting founder
    assert all("GardenBox" in m.get_content() for m in mail_outbox)
    assert client.get(f"/api/v1/ideas/{idea.id}").json["projects"] == [{"id": project.id, "title": "GardenBox"}]
    timeline = client.get(f"/api/v1/projects/{project.id}/timeline").json["items"]
    assert timeline[-1]["kind"] == "idea_adopted"
    second = client.post(f"/api/v1/ideas/{IdeaFactory().id}/adoptions", headers=headers,
                         json={"project_id": project.id})
    assert second.status_code == 409
    assert db.session.get(Project, project.id).idea_id == idea.id
    login(founder)
    assert "Balcony herb garden" in client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "GardenBox" in client.get(f"/ideas/{idea.id}").get_data(as_text=True)


def test_idea_pages(client, factories, login):
    idea = IdeaFactory(title="Robot vacuum for pet hair")
    founder, _startup, project = startup_with_founder(status="draft", title="PetVac")
    login(founder)
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Adopt" in page and "PetVac" in page
    client.post(f"/ideas/{idea.id}/comments", data={"body": "Count me in"})
    client.post(f"/ideas/{idea.id}/vote")
    client.post(f"/ideas/{idea.id}/adopt", data={"project_id": project.id})
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Count me in" in page and "· 1 vote<" in page and "1 votes" not in page
    assert db.session.get(Project, project.id).idea_id == idea.id
