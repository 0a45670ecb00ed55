"""Statuses and stored choices are `StrEnum`s whose CHECK constraints keep any other value out of the database,
and every status moves only along its transition table (`portal.states`)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from funding.models import (
    CAMPAIGN_TRANSITIONS,
    AttemptStatus,
    CampaignStatus,
    FinancingApplication,
    FinancingReview,
    FinancingStatus,
    FundingModel,
    LedgerKind,
    PledgeStatus,
)
from incubation.models import (
    PROJECT_TRANSITIONS,
    SUPPORT_TRANSITIONS,
    ApplicationStatus,
    ChainStage,
    Confidentiality,
    IncubationMode,
    Project,
    ProjectStage,
    ProjectStatus,
    Recommendation,
    SupportStatus,
)
from portal.auth.models import Role, User
from portal.db import utcnow
from portal.demo import seed_demo
from portal.errors import Conflict
from portal.extensions import db
from portal.moderation.models import Flag, FlagReason, FlagStatus, FlagTarget
from portal.organisations.models import Invitation, MemberRole, Organisation, OrganisationKind
from portal.states import Choice, Status, can_transition, check_transition, status_check, transition
from resources.models import (
    BOOKING_TRANSITIONS,
    Audience,
    BlackoutKind,
    BookingStatus,
    PriceUnit,
    Resource,
    ResourceKind,
    TrainingRequest,
    TrainingStatus,
    WaitlistEntry,
    WaitlistStatus,
)

# (table, column, enum, constraint, PostgreSQL only): every stored choice and its CHECK.
CHECKED = [
    ("project", "status", ProjectStatus, "ck_project_status_valid", False),
    ("project", "stage", ProjectStage, "ck_project_stage_valid", False),
    ("project", "mode", IncubationMode, "ck_project_mode_valid", False),
    ("program", "mode", IncubationMode, "ck_program_mode_valid", False),
    ("project_document", "confidentiality", Confidentiality, "ck_project_document_confidentiality_valid", False),
    ("program_application", "status", ApplicationStatus, "ck_program_application_status_valid", False),
    ("application_review", "recommendation", Recommendation, "ck_application_review_recommendation_valid", False),
    ("support_request", "stage", ChainStage, "ck_support_request_stage_valid", False),
    ("support_request", "status", SupportStatus, "ck_support_request_status_valid", False),
    ("resource", "kind", ResourceKind, "ck_resource_kind_known", False),
    ("resource_price", "audience", Audience, "ck_resource_price_audience_known", False),
    ("resource_price", "unit", PriceUnit, "ck_resource_price_unit_known", False),
    ("resource_blackout", "kind", BlackoutKind, "ck_resource_blackout_kind_known", False),
    ("booking", "status", BookingStatus, "ck_booking_status_known", False),
    ("booking", "audience", Audience, "ck_booking_audience_known", True),
    ("booking", "price_unit", PriceUnit, "ck_booking_price_unit_known", True),
    ("booking_waitlist", "status", WaitlistStatus, "ck_booking_waitlist_status_known", False),
    ("resource_training_request", "status", TrainingStatus, "ck_resource_training_request_status_known", False),
    ("campaign", "status", CampaignStatus, "ck_campaign_status_valid", False),
    ("campaign", "funding_model", FundingModel, "ck_campaign_funding_model_valid", False),
    ("pledge", "status", PledgeStatus, "ck_pledge_status_valid", False),
    ("payment_attempt", "status", AttemptStatus, "ck_payment_attempt_status_valid", False),
    ("ledger_entry", "kind", LedgerKind, "ck_ledger_entry_kind_valid", False),
    ("financing_application", "status", FinancingStatus, "ck_financing_application_status_valid", False),
    ("financing_review", "recommendation", Recommendation, "ck_financing_review_recommendation_valid", False),
    ("user_role", "role", Role, "ck_user_role_role_known", False),
    ("organisation", "kind", OrganisationKind, "ck_organisation_kind_known", True),
    ("membership", "role", MemberRole, "ck_membership_role_known", False),
    ("invitation", "role", MemberRole, "ck_invitation_role_known", False),
    ("content_flag", "status", FlagStatus, "ck_content_flag_status_valid", False),
    ("content_flag", "reason", FlagReason, "ck_content_flag_reason_valid", False),
    ("content_flag", "object_type", FlagTarget, "ck_content_flag_object_type_valid", False),
]


def _seed_missing_rows() -> None:
    """The demo leaves a few tables empty: one valid row each, so that there is a row to spoil."""
    resource = db.session.scalars(select(Resource).order_by(Resource.id)).first()
    project = db.session.scalars(select(Project).order_by(Project.id)).first()
    user = db.session.scalars(select(User).order_by(User.id)).first()
    organisation = db.session.scalars(select(Organisation).order_by(Organisation.id)).first()
    start = utcnow() + timedelta(days=3)
    application = FinancingApplication(project_id=project.id, applicant_id=user.id, amount=100_00, currency="CNY",
                                       use_of_funds="Tooling", terms="10% equity")
    db.session.add_all([
        WaitlistEntry(resource_id=resource.id, user_id=user.id, start_at=start, end_at=start + timedelta(hours=1)),
        TrainingRequest(resource_id=resource.id, user_id=user.id),
        application,
        Invitation(organisation_id=organisation.id, email="invited@example.com", role=MemberRole.MEMBER,
                   token_hash="0" * 64, expires_at=start),
    ])
    db.session.add(Flag(object_type=FlagTarget.IDEA, object_id=1, reporter_id=user.id, reason=FlagReason.SPAM))
    db.session.flush()
    db.session.add(FinancingReview(application_id=application.id, reviewer_id=user.id, scores={},
                                   weighted_score=3.0, recommendation=Recommendation.YES))
    db.session.flush()


def _spoil(table: str, column: str) -> None:
    """Write a value no enum holds into one existing row, through SQL (no model, no command in the way)."""
    row_id = db.session.execute(text(f"SELECT min(id) FROM {table}")).scalar()
    assert row_id is not None, f"no {table} row to spoil"
    if table == "ledger_entry":  # append-only (triggers refuse UPDATE): a new entry instead
        db.session.execute(text(
            "INSERT INTO ledger_entry (campaign_id, pledge_id, kind, amount, currency, reference, memo, created_at) "
            "SELECT campaign_id, pledge_id, 'teleported', amount, currency, reference || '-spoilt', memo, created_at "
            "FROM ledger_entry WHERE id = :id"), {"id": row_id})
    else:
        db.session.execute(text(f"UPDATE {table} SET {column} = 'teleported' WHERE id = :id"), {"id": row_id})


def test_the_database_refuses_a_value_outside_each_enum(db_session):
    """Per enum and column: an unknown value written with plain SQL is an IntegrityError naming its CHECK.

    (One test over all of them: the demo data they spoil takes seconds to seed.)"""
    seed_demo()
    _seed_missing_rows()
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    accepted, checked = [], 0
    for table, column, enum, constraint, pg_only in CHECKED:
        if pg_only and not postgresql:
            continue  # these CHECKs exist on PostgreSQL only (see the statuses migration)
        assert issubclass(enum, Choice) and "teleported" not in enum.values()
        try:
            with db.session.begin_nested():
                _spoil(table, column)
        except IntegrityError as refused:
            assert constraint in str(refused.orig), (table, column, refused.orig)
            checked += 1
        else:
            accepted.append(f"{table}.{column}")
    assert accepted == [], f"the database took an unknown value in {accepted}"
    assert checked == len([row for row in CHECKED if postgresql or not row[-1]])


def test_every_model_status_check_is_listed_here():
    """A new `status_check` in a model gets its row in CHECKED (and so its test)."""
    declared = {str(constraint.name) for table in db.metadata.tables.values() for constraint in table.constraints
                if str(constraint.name).endswith(("_valid", "_known")) and " IN (" in str(getattr(
                    constraint, "sqltext", ""))}
    assert declared == {constraint for *_rest, constraint, _pg in CHECKED}


def test_status_check_is_the_enum_values():
    check = status_check(SupportStatus, "status", name="status_valid")
    assert str(check.sqltext) == "status IN ('open', 'in_progress', 'closed')"
    assert SupportStatus.values() == ("open", "in_progress", "closed")
    assert SupportStatus.has("open") and not SupportStatus.has("teleported") and not SupportStatus.has(None)
    assert SupportStatus.OPEN == "open" and f"{SupportStatus.OPEN}" == "open"
    assert issubclass(SupportStatus, Status)


TABLES = [("project", PROJECT_TRANSITIONS, ProjectStatus), ("support", SUPPORT_TRANSITIONS, SupportStatus),
          ("booking", BOOKING_TRANSITIONS, BookingStatus), ("campaign", CAMPAIGN_TRANSITIONS, CampaignStatus)]


@pytest.mark.parametrize(("name", "table", "enum"), TABLES, ids=[name for name, *_rest in TABLES])
def test_a_transition_table_refuses_every_move_it_does_not_list(app, name, table, enum):
    assert set(table) <= set(enum) and all(set(targets) <= set(enum) for targets in table.values())
    with app.test_request_context():
        for current in enum:
            for target in enum:
                obj = SimpleNamespace(status=current.value)  # as loaded from the database: a plain string
                listed = target in table.get(current, ())
                assert can_transition(obj.status, target, table) is listed
                if listed:
                    assert transition(obj, target, table) == current and obj.status == target
                    continue
                with pytest.raises(Conflict) as refused:
                    transition(obj, target, table)
                assert refused.value.fields == {"status": [current.value]}
                assert obj.status == current  # unchanged


def test_the_refusal_names_the_current_status_and_may_say_why(app):
    obj = SimpleNamespace(state="closed")
    with app.test_request_context():
        with pytest.raises(Conflict) as refused:
            check_transition(obj, "open", SUPPORT_TRANSITIONS, field="state",
                             message=lambda current, target: f"{current} -> {target}?")
    assert refused.value.fields == {"state": ["closed"]}
    assert str(refused.value.message) == "Closed -> Open?"  # the message names statuses by their labels
