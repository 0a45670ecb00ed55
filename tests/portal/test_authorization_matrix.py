"""Authorization matrix (issue 9, point 9): every route x nine actors against one table.

The table lives in `tests/portal/authz_matrix.py`; the world the requests run in (who owns what) in
`tests/portal/authz_world.py`. Every rule of the URL map must have a row ("every route has a row"),
so a new route forces a decision. Each (route, method, actor) is one test case, run inside its own
savepoint of a module-wide transaction: the world is built once, nothing a request changes leaks.

The explicit reproducers of the issue's first bullets come first in this file (they use the usual
per-test `client` fixture, so they must run before the module-wide world opens its transaction).
"""

from __future__ import annotations

import pytest
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.orm import scoped_session, sessionmaker

from portal.extensions import db
from tests.portal import authz_matrix as matrix
from tests.portal.authz_world import ACTORS, Cells, build

# ---- reproducers (issue 9, first bullets) ------------------------------------------------------------


def _register_company_account(client, email: str = "self-made@example.com") -> dict[str, str]:
    response = client.post("/api/v1/auth/register", json={
        "email": email, "password": "a-long-password-2026", "name": "Self Made", "roles": ["company"]})
    assert response.status_code == 201, response.get_json()
    response = client.post("/api/v1/auth/tokens", json={"email": email, "password": "a-long-password-2026"})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _financing_of_another_company(db_session):
    from funding.models import FinancingApplication
    from portal.db import utcnow
    from tests.incubation.factories import company_with_staff, startup_with_founder

    _staff, anchor = company_with_staff()
    anchor.verified_at = utcnow()
    founder, _startup, project = startup_with_founder(title="Confidential Fan")
    application = FinancingApplication(project_id=project.id, applicant_id=founder.id, amount=300_000_00,
                                       currency="CNY", use_of_funds="Tooling", terms="Secret terms: 12% for 300k")
    for name in ("organisation_id", "target_organisation_id", "target_id", "addressee_id"):
        if hasattr(FinancingApplication, name):
            setattr(application, name, anchor.id)
            break
    db_session.add(application)
    db_session.flush()
    return application


def test_self_registered_company_account_cannot_read_or_decide_another_companys_financing(client, db_session):
    application = _financing_of_another_company(db_session)
    headers = _register_company_account(client)

    shown = client.get(f"/api/v1/financing-applications/{application.id}", headers=headers)
    assert shown.status_code in (403, 404), shown.get_json()
    assert "Secret terms" not in shown.get_data(as_text=True)

    decided = client.post(f"/api/v1/financing-applications/{application.id}/decision", headers=headers,
                          json={"decision": "approved", "note": "Looks great"})
    assert decided.status_code in (403, 404), decided.get_json()

    listed = client.get("/api/v1/financing-applications", headers=headers)
    assert listed.status_code == 200
    assert listed.get_json()["items"] == []


def test_self_registered_company_account_cannot_publish_for_its_own_unverified_company(client, db_session):
    headers = _register_company_account(client, "lookalike@example.com")
    created = client.post("/api/v1/organisations", headers=headers,
                          json={"name": "Haier COSMOPlat", "kind": "company", "city": "Qingdao"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["verified"] is False
    published = client.post("/api/v1/resources", headers=headers,
                            json=matrix.resource_body(created.get_json()["id"]))
    assert published.status_code == 409, published.get_json()
    assert published.get_json()["error"]["code"] == "organisation_unverified"


# ---- the matrix --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cells(app):
    """The world, committed into a module-wide transaction that is rolled back at the end."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        session = scoped_session(sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
                                 scopefunc=_app_ctx_id)
        db.session = session
        outbox = app.extensions.setdefault("mail_outbox", [])
        outbox.clear()
        try:
            from tests.conftest import CommittingClient

            app.config["WTF_CSRF_ENABLED"] = False
            app.test_client_class = CommittingClient
            world = build(app, app.test_client())
            session.remove()
            db.session = original
            yield Cells(app, connection, world)
        finally:
            db.session = original
            outer.rollback()
            connection.close()


def _cases():
    cases = []
    for key, row in matrix.rows().items():
        for actor, expected in zip(ACTORS, row.cells, strict=True):
            cases.append(pytest.param(key, actor, expected, id=f"{key} | {actor}"))
    return cases


def test_every_route_has_a_row(app):
    routed = matrix.routed_keys(app)
    table = set(matrix.rows())
    missing = sorted(routed - table)
    assert not missing, "routes without a row in tests/portal/authz_matrix.py:\n" + "\n".join(missing)


def test_every_row_is_a_route(app):
    """A row for a route that is gone is stale."""
    stale = sorted(set(matrix.rows()) - matrix.routed_keys(app))
    assert not stale, "rows without a route:\n" + "\n".join(stale)


@pytest.mark.parametrize(("key", "actor", "expected"), _cases())
def test_cell(cells, app, key, actor, expected):
    assert key in matrix.routed_keys(app), f"{key} is not routed"
    row = matrix.rows()[key]
    url = matrix.url_for_row(row, cells.world.ids)
    response, flashes = cells.request(actor, row.method, url, api=row.api, json=row.json(cells.world.ids),
                                      data=row.form(cells.world.ids))
    observed = matrix.describe(response, flashes, row.api)
    assert matrix.matches(expected, response, flashes, row.api, row, cells.world.ids), (
        f"{row.method} {url} as {actor}: expected {expected!r}, got {observed}")
