"""The one world the authorization matrix runs in: nine actors and one object of each kind.

Built once per test module with the factories, inside a transaction that is rolled back when the
module ends; every matrix cell then runs inside its own savepoint (see `Cells`), so a request that
changes state never leaks into the next cell.

Who owns what (the matrix's columns read against this):

- anchor company `A` (verified), staff `owner_staff`: the published resource, the pending booking on
  it, its blackout/exception/problem report/training request, the program with its application,
  the support request, the former-employment claim; the financing application is addressed to `A`.
- startup `S`, founder `owner_founder`: the submitted project (applied to the program, with a
  confidential NDA document, a milestone and a KPI), a draft project, an incubating project with a
  live campaign; the financing application; the booking, the waitlist entry and the booked mentor
  session are `owner_founder`'s own.
- `outsider`: founder of another startup, and the backer of the campaign's pledge, the author of the
  idea, the claimant of the former employment, the invitee of `S`'s invitation.
- `unverified`: owner of an unverified company organisation; `other_company`: owner of another
  verified company.
- `reviewer`: a mentor assigned to the application (and the mentor of the slots); `conflicted`:
  assigned too, then declared a conflict of interest.
- `admin`: platform administrator.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta

from flask import g
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.orm import scoped_session, sessionmaker
from werkzeug.datastructures import FileStorage

from portal.extensions import db, limiter

ACTORS = ("anonymous", "outsider", "unverified", "other_company", "owner_staff", "owner_founder", "reviewer",
          "conflicted", "admin")

PASSWORD = "correct-horse-battery"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
INVITATION_TOKEN = "matrix-invitation-token"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00"
       b"\x0cIDATx\x9cc8Q\xa1\x01\x00\x03t\x01i\xcb\xfa\xd0\xd7\x00\x00\x00\x00IEND\xaeB`\x82")  # a real 1 x 1 PNG


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)  # actor -> user id
    emails: dict[str, str] = field(default_factory=dict)
    bearer: dict[str, dict[str, str]] = field(default_factory=dict)  # actor -> Authorization header
    cookies: dict[str, str] = field(default_factory=dict)  # actor -> session cookie value
    ids: dict[str, int | str] = field(default_factory=dict)  # url variable / object name -> id


def _flush():
    db.session.flush()


def build(app, client) -> World:
    """Create every object with the factories; log each actor in once (session cookie + API token)."""
    from funding.models import FinancingApplication
    from incubation.models import (
        Confidentiality,
        Kpi,
        Milestone,
        ProjectStatus,
        ReviewAssignment,
        SupportRequest,
    )
    from incubation.schemas.documents import NewDocument
    from incubation.schemas.projects import NdaText
    from incubation.services import add_document, set_nda_text
    from portal.auth.models import Role
    from portal.auth.services import create_api_token
    from portal.db import utcnow
    from portal.organisations.schemas import MemberInvite
    from portal.organisations.services import _digest, add_member
    from portal.uploads import IMAGES, store_upload
    from resources.models import (
        Blackout,
        OpeningException,
        ProblemReport,
        ResourcePhoto,
        TrainingRequest,
        WaitlistEntry,
    )
    from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
    from tests.funding.factories import CampaignFactory, PledgeFactory, RewardFactory
    from tests.incubation.factories import (
        ApplicationFactory,
        FormerEmploymentFactory,
        IdeaFactory,
        MentorProfileFactory,
        MentorSlotFactory,
        ProjectFactory,
        program_with_criteria,
    )
    from tests.resources.factories import BookingFactory, ResourceFactory

    w = World()
    now = utcnow()
    u = {
        "outsider": UserFactory(roles=[Role.FOUNDER, Role.BACKER], name="Outsider"),
        "unverified": UserFactory(roles=[Role.COMPANY], name="Unverified Staff"),
        "other_company": UserFactory(roles=[Role.COMPANY], name="Other Company Staff"),
        "owner_staff": UserFactory(roles=[Role.COMPANY], name="Anchor Staff"),
        "owner_founder": UserFactory(roles=[Role.FOUNDER, Role.BACKER], name="Owner Founder"),
        "reviewer": UserFactory(roles=[Role.MENTOR], name="Reviewer"),
        "conflicted": UserFactory(roles=[Role.MENTOR], name="Conflicted Reviewer"),
        "admin": UserFactory(roles=[Role.ADMIN], name="Admin"),
    }
    cofounder = UserFactory(roles=[Role.FOUNDER], name="Co-founder")

    OrganisationFactory(kind="startup", owner=u["outsider"], name="Outsider Startup")
    unverified_co = OrganisationFactory(kind="company", owner=u["unverified"], name="Unverified Co",
                                        verified_at=None)
    other_co = OrganisationFactory(kind="company", owner=u["other_company"], name="Other Co", verified_at=now)
    anchor = OrganisationFactory(kind="company", owner=u["owner_staff"], name="Anchor Co", verified_at=now)
    startup = OrganisationFactory(kind="startup", owner=u["owner_founder"], name="Owner Startup")
    co_membership = MembershipFactory(organisation=startup, user=cofounder)

    # ---- resources ------------------------------------------------------------------------------
    resource = ResourceFactory(organisation=anchor, requires_approval=True)
    booking = BookingFactory(resource=resource, user=u["owner_founder"], status="pending", audience="startup",
                             organisation_id=startup.id, purpose="Prototype run of the Quiet Fan")
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=10)
    blackout = Blackout(resource_id=resource.id, kind="maintenance", starts_at=start, ends_at=start + timedelta(hours=2),
                        reason="Calibration", created_by_id=u["owner_staff"].id)
    exception = OpeningException(resource_id=resource.id, day=(start + timedelta(days=1)).date(), note="Holiday")
    problem = ProblemReport(resource_id=resource.id, user_id=u["outsider"].id, description="Spindle wobbles")
    training = TrainingRequest(resource_id=resource.id, user_id=u["outsider"].id, message="Please train me")
    waitlist = WaitlistEntry(resource_id=resource.id, user_id=u["owner_founder"].id, start_at=booking.start_at,
                             end_at=booking.end_at, purpose="Prototype run")
    db.session.add_all([blackout, exception, problem, training, waitlist])
    stored_photo = store_upload(FileStorage(io.BytesIO(PNG), "lab.png"), field="photo", kinds=IMAGES)
    _flush()
    photo = ResourcePhoto(resource_id=resource.id, stored_file_id=stored_photo.id, caption="The lab")
    db.session.add(photo)

    # ---- incubation -----------------------------------------------------------------------------
    program = program_with_criteria(anchor)
    project = ProjectFactory(organisation=startup, status=ProjectStatus.SUBMITTED, title="Quiet Fan")
    draft = ProjectFactory(organisation=startup, status=ProjectStatus.DRAFT, title="Secret Draft")
    incubating = ProjectFactory(organisation=startup, status=ProjectStatus.INCUBATING, title="Incubating Kettle")
    application = ApplicationFactory(program=program, project=project, submitted_by_id=u["owner_founder"].id,
                                     answers={"pitch": "We make fans quiet."})
    db.session.add(ReviewAssignment(application_id=application.id, reviewer_id=u["reviewer"].id,
                                    assigned_by_id=u["owner_staff"].id))
    db.session.add(ReviewAssignment(application_id=application.id, reviewer_id=u["conflicted"].id,
                                    assigned_by_id=u["owner_staff"].id, conflict_declared_at=now,
                                    conflict_reason="Former colleague of the founder"))
    set_nda_text(project, NdaText(nda_text="Keep our fan design to yourself."), u["owner_founder"])
    document = add_document(project, FileStorage(io.BytesIO(PDF), "deck.pdf"), u["owner_founder"],
                            NewDocument(title="Pitch deck", confidentiality=Confidentiality.NDA))
    milestone = Milestone(project_id=project.id, title="First prototype")
    kpi = Kpi(project_id=project.id, name="Units", target=100, unit="pcs")
    support = SupportRequest(project_id=incubating.id, company_id=anchor.id, stage="manufacturing",
                             title="Tooling help", requested_by_id=u["owner_founder"].id)
    db.session.add_all([milestone, kpi, support])
    profile = MentorProfileFactory(user=u["reviewer"])
    free_slot = MentorSlotFactory(mentor_profile=profile)
    booked_slot = MentorSlotFactory(mentor_profile=profile, booked_by_id=u["owner_founder"].id, topic="Pricing")
    idea = IdeaFactory(author=u["outsider"])
    former = FormerEmploymentFactory(user=u["outsider"], company=anchor, verified_at=None)

    # ---- funding --------------------------------------------------------------------------------
    campaign = CampaignFactory(project=incubating)
    from funding.models import CampaignImage

    gallery_image = CampaignImage(campaign_id=campaign.id, stored_file_id=stored_photo.id, caption="Side view")
    db.session.add(gallery_image)
    reward = RewardFactory(campaign=campaign)
    pledge = PledgeFactory(campaign=campaign, backer=u["outsider"])
    financing = FinancingApplication(project_id=project.id, applicant_id=u["owner_founder"].id, amount=500_000_00,
                                     currency="CNY", use_of_funds="Tooling", terms="10% for 500k")
    # Addressed to the anchor company once the model knows an addressee (issue 9, point 2).
    for name in ("organisation_id", "target_organisation_id", "target_id", "addressee_id"):
        if hasattr(FinancingApplication, name):
            setattr(financing, name, anchor.id)
            break
    db.session.add(financing)
    _flush()

    # ---- accounts -------------------------------------------------------------------------------
    invitation = add_member(startup, MemberInvite(email=u["outsider"].email, role="member"), u["owner_founder"])
    invitation.token_hash = _digest(INVITATION_TOKEN)  # the real token is only ever mailed
    w.ids["invitation_token"] = INVITATION_TOKEN
    spare_token, _raw = create_api_token(u["owner_founder"], "spare")
    from portal.notifications.models import Notification

    notice = Notification(user_id=u["outsider"].id, kind="general", title="Hello", body="", link="/")
    db.session.add(notice)
    _flush()

    for actor, user in u.items():
        w.users[actor] = user.id
        w.emails[actor] = user.email
        _token, raw = create_api_token(user, "matrix")
        w.bearer[actor] = {"Authorization": f"Bearer {raw}"}
    w.ids.update({
        "organisation_id": anchor.id, "startup_id": startup.id, "unverified_org_id": unverified_co.id,
        "other_org_id": other_co.id, "membership_id": co_membership.id,
        "resource_id": resource.id, "booking_id": booking.id, "blackout_id": blackout.id,
        "exception_id": exception.id, "report_id": problem.id, "request_id": training.id,
        "entry_id": waitlist.id, "photo_id": photo.id,
        "program_id": program.id, "project_id": project.id, "draft_project_id": draft.id,
        "incubating_project_id": incubating.id, "application_id": application.id,
        "document_id": document.id, "milestone_id": milestone.id, "kpi_id": kpi.id, "support_id": support.id,
        "profile_id": profile.id, "slot_id": booked_slot.id, "free_slot_id": free_slot.id, "idea_id": idea.id,
        "record_id": former.id, "campaign_id": campaign.id, "reward_id": reward.id, "pledge_id": pledge.id,
        "financing_id": financing.id, "invitation_id": invitation.id, "notification_id": notice.id, "token_id": spare_token.id,
        "user_id": u["outsider"].id, "token": "not-a-valid-token", "answer": "accept", "filename": "x",
        "booking_purpose": booking.purpose, "financing_terms": financing.terms,
        # An image through its owner (portal.images): the lab's photo, served whole.
        "image_slot": "resource-photo", "image_file_id": stored_photo.id, "image_size": "full",
        "gallery_image_id": gallery_image.id,
    })
    w.ids.update({f"email:{actor}": user.email for actor, user in u.items()})
    db.session.commit()


    for actor, email in w.emails.items():
        _clear_cookies(client)
        response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, (actor, response.status_code, response.get_data(as_text=True)[:500])
        client.get("/dashboard")  # consumes the "Logged in." flash, so cells see only their own flashes
        cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
        assert cookie is not None, actor
        w.cookies[actor] = cookie.value
    _clear_cookies(client)
    return w


def _clear_cookies(client) -> None:
    jar = getattr(client, "_cookies", None)
    if jar is not None:
        jar.clear()


class Cells:
    """Runs one request as one actor inside a savepoint of the module's transaction, then rolls it back."""

    def __init__(self, app, connection, world: World):
        self.app = app
        self.connection = connection
        self.world = world

    def request(self, actor: str, method: str, url: str, *, api: bool, json=None, data=None):
        from tests.conftest import CommittingClient

        nested = self.connection.begin_nested()
        session = scoped_session(sessionmaker(bind=self.connection, join_transaction_mode="create_savepoint"),
                                 scopefunc=_app_ctx_id)
        original = db.session
        db.session = session
        try:
            limiter.reset()
            g.__dict__.clear()
            self.app.test_client_class = CommittingClient
            client = self.app.test_client()
            headers = {}
            if actor != "anonymous":
                if api:
                    headers.update(self.world.bearer[actor])
                else:
                    client.set_cookie(self.app.config.get("SESSION_COOKIE_NAME", "session"), self.world.cookies[actor])
            kwargs = {"headers": headers}
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                if api:
                    kwargs["json"] = json if json is not None else {}
                else:
                    kwargs["data"] = data if data is not None else {}
            response = client.open(url, method=method, **kwargs)
            flashes = []
            if not api and 300 <= response.status_code < 400:
                with client.session_transaction() as flask_session:
                    flashes = list(flask_session.get("_flashes", []))
            return response, flashes
        finally:
            session.remove()
            db.session = original
            if nested.is_active:
                nested.rollback()
