"""Every mail of the incubation package goes out in its recipient's language, one mail per recipient."""

from __future__ import annotations

from datetime import timedelta

from portal.auth.models import Role
from portal.db import utcnow
from tests.incubation.factories import (
    ApplicationFactory,
    MentorSlotFactory,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)


def _by_recipient(outbox) -> dict[str, object]:
    return {message["To"]: message for message in outbox}


def test_a_chinese_founder_gets_a_chinese_rejection_mail_and_an_english_cofounder_an_english_one(
        client, factories, bearer, mail_outbox):
    founder, startup, project = startup_with_founder(status="screening")
    founder.locale = "zh_CN"
    cofounder = factories.UserFactory(roles=[Role.FOUNDER], locale="en")
    factories.MembershipFactory(organisation=startup, user=cofounder)
    staff, company = company_with_staff()
    staff.locale = "en"
    ApplicationFactory(program=program_with_criteria(company, mode=project.mode), project=project)
    response = client.post(f"/api/v1/projects/{project.id}/transitions", headers=bearer(staff),
                           json={"status": "rejected", "note": "市场太小"})
    assert response.status_code == 200, response.json
    mails = _by_recipient(mail_outbox)
    assert set(mails) == {founder.email, cofounder.email}
    chinese = mails[founder.email]
    assert chinese["Subject"] == f"您的项目 {project.title} 未被接受"
    assert "市场太小" in chinese.get_content()
    english = mails[cofounder.email]
    assert english["Subject"] == f"Your project {project.title} was not accepted"
    assert "We are sorry" in english.get_content()


def test_program_rejection_mail_follows_each_founders_locale(client, factories, bearer, mail_outbox):
    founder, startup, project = startup_with_founder(status="screening")
    founder.locale = "zh_CN"
    staff, company = company_with_staff()
    application = ApplicationFactory(program=program_with_criteria(company, mode=project.mode), project=project)
    response = client.post(f"/api/v1/applications/{application.id}/decision", headers=bearer(staff),
                           json={"decision": "rejected", "feedback": "Not this time"})
    assert response.status_code == 200, response.json
    (mail,) = mail_outbox
    assert mail["To"] == founder.email and "未被接受" in mail["Subject"]


def test_the_mentor_is_told_of_a_booking_in_their_language(client, factories, bearer, mail_outbox):
    slot = MentorSlotFactory(starts_at=utcnow() + timedelta(days=3))
    slot.mentor_profile.user.locale = "zh_CN"
    founder = startup_with_founder()[0]
    response = client.post(f"/api/v1/mentor-slots/{slot.id}/book", headers=bearer(founder),
                           json={"topic": "Tooling"})
    assert response.status_code == 201, response.json
    (mail,) = mail_outbox
    assert mail["To"] == slot.mentor_profile.user.email
    assert mail["Subject"] == "辅导时段已预约：Tooling"
