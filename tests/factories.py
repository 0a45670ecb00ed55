"""factory_boy factories. They flush (so ids exist) and never commit."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from portal.auth.models import Role, User, UserRole
from portal.auth.services import hash_password
from portal.db import utcnow
from portal.extensions import db
from portal.organisations.models import MemberRole, Membership, Organisation

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password(PASSWORD)  # hashing once keeps the suite fast


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    password_hash = _PASSWORD_HASH
    locale = "en"
    confirmed_at = factory.LazyFunction(utcnow)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted if extracted is not None else [Role.FOUNDER]:
            self.role_rows.append(UserRole(role=role))
        if create:
            db.session.flush()


class OrganisationFactory(BaseFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = "startup"
    city = "Qingdao"
    description = "A test organisation"
    # Anchor companies in tests are verified unless a test says otherwise (verified_at=None).
    verified_at = factory.LazyAttribute(lambda o: utcnow() if o.kind == "company" else None)

    @factory.post_generation
    def owner(self, create, extracted, **kwargs):
        if extracted is not None:
            self.memberships.append(Membership(user_id=extracted.id, role=MemberRole.OWNER))
            if create:
                db.session.flush()


class MembershipFactory(BaseFactory):
    class Meta:
        model = Membership

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)
    role = MemberRole.MEMBER
