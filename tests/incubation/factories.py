"""factory_boy factories for incubation. They flush (so ids exist) and never commit."""

from __future__ import annotations

from datetime import timedelta

import factory

from incubation.models import (
    Application,
    ApplicationStatus,
    FormerEmployment,
    Idea,
    IdeaVote,
    IncubationMode,
    MentorProfile,
    MentorSlot,
    Program,
    ProgramCriterion,
    ProgramQuestion,
    Project,
    ProjectStage,
    ProjectStatus,
)
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.factories import BaseFactory, MembershipFactory, OrganisationFactory, UserFactory


class ProjectFactory(BaseFactory):
    class Meta:
        model = Project

    organisation = factory.SubFactory(OrganisationFactory, kind="startup")
    title = factory.Sequence(lambda n: f"Project {n}")
    summary = "A quiet appliance for small flats"
    industry = "Smart home"
    stage = ProjectStage.PROTOTYPE
    mode = IncubationMode.CROWDFUNDING
    funding_sought_amount = 500_000_00
    currency = "CNY"
    status = ProjectStatus.SUBMITTED


class ProgramFactory(BaseFactory):
    class Meta:
        model = Program

    organisation = factory.SubFactory(OrganisationFactory, kind="company")
    title = factory.Sequence(lambda n: f"Program {n}")
    description = "A twelve-week cohort"
    mode = IncubationMode.INTERNAL
    opens_at = factory.LazyFunction(lambda: utcnow() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=30))
    capacity = 10


class ProgramCriterionFactory(BaseFactory):
    class Meta:
        model = ProgramCriterion

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Criterion {n}")
    weight = 1


class MentorProfileFactory(BaseFactory):
    class Meta:
        model = MentorProfile

    user = factory.SubFactory(UserFactory, roles=[Role.MENTOR])
    bio = "Fifteen years of appliance mass production"
    expertise = factory.LazyFunction(lambda: ["supply chain", "fundraising"])
    industries = factory.LazyFunction(lambda: ["Smart home"])
    languages = factory.LazyFunction(lambda: ["zh", "en"])
    organisation = "Haier"


class MentorSlotFactory(BaseFactory):
    class Meta:
        model = MentorSlot

    mentor_profile = factory.SubFactory(MentorProfileFactory)
    starts_at = factory.Sequence(lambda n: utcnow().replace(microsecond=0) + timedelta(days=1, hours=n))
    ends_at = factory.LazyAttribute(lambda slot: slot.starts_at + timedelta(minutes=45))
    topic = ""


class IdeaFactory(BaseFactory):
    class Meta:
        model = Idea

    author = factory.SubFactory(UserFactory, roles=[Role.BACKER])
    title = factory.Sequence(lambda n: f"Idea {n}")
    description = "Something people want"


class IdeaVoteFactory(BaseFactory):
    class Meta:
        model = IdeaVote

    idea = factory.SubFactory(IdeaFactory)
    user = factory.SubFactory(UserFactory, roles=[Role.BACKER])


class ApplicationFactory(BaseFactory):
    class Meta:
        model = Application

    program = factory.SubFactory(ProgramFactory)
    project = factory.SubFactory(ProjectFactory)
    answers = factory.LazyFunction(dict)
    status = ApplicationStatus.SUBMITTED


class FormerEmploymentFactory(BaseFactory):
    class Meta:
        model = FormerEmployment

    user = factory.SubFactory(UserFactory, roles=[Role.FOUNDER])
    company = factory.SubFactory(OrganisationFactory, kind="company")
    position = "Engineer"
    verified_at = factory.LazyFunction(utcnow)


# ---- scenarios ---------------------------------------------------------------------------------

def startup_with_founder(**project_fields):
    """A founder, their startup and (if fields are given) a project of it."""
    founder = UserFactory(roles=[Role.FOUNDER])
    startup = OrganisationFactory(kind="startup", owner=founder)
    project = ProjectFactory(organisation=startup, **project_fields) if project_fields else None
    return founder, startup, project


def company_with_staff(*extra_staff):
    staff = UserFactory(roles=[Role.COMPANY])
    company = OrganisationFactory(kind="company", owner=staff)
    for user in extra_staff:
        MembershipFactory(organisation=company, user=user)
    return staff, company


def program_with_criteria(company, criteria=(("Market", 2), ("Team", 1)), **fields):
    program = ProgramFactory(organisation=company, **fields)
    for name, weight in criteria:
        ProgramCriterionFactory(program=program, name=name, weight=weight)
    return program


def add_question(program, text: str = "Why now?", required: bool = False) -> ProgramQuestion:
    question = ProgramQuestion(text=text, required=required)
    program.questions.append(question)
    db.session.flush()
    return question
