"""The outbox: written with the data, applied only after commit, kept while the backend is down."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from incubation.models import MentorProfile
from portal.db import commit
from portal.extensions import db
from portal.search import services, sync
from portal.search.models import SearchDocument, SearchOutbox
from portal.search.tasks import retry_outbox
from tests.incubation.factories import MentorProfileFactory
from tests.resources.factories import ResourceFactory
from tests.search.conftest import titles


def _indexed(backend_name: str) -> int:
    return sum(services.get_backend().counts().values())


def test_the_outbox_row_is_written_in_the_same_transaction_and_nothing_is_indexed_before_commit(
        factories, backend, search_api, outbox_rows):
    rig = ResourceFactory(name="Thermal chamber")
    rows = outbox_rows()
    assert ("resource", rig.id) in {(r.kind, r.object_id) for r in rows}
    assert all(r.applied_at is None for r in rows)
    assert _indexed(backend) == 0
    commit()
    assert titles(search_api(q="thermal")) == ["Thermal chamber"]
    assert all(r.applied_at is not None for r in outbox_rows())


def test_a_rolled_back_change_leaves_no_trace(factories, backend, search_api, outbox_rows, index_now):
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            ResourceFactory(name="Ghost chamber")
            raise RuntimeError("the request failed")
    index_now()
    assert titles(search_api(q="ghost")) == []
    assert outbox_rows() == []
    assert _indexed(backend) == 0


def test_bulk_updates_by_primary_key_are_indexed(factories, backend, search_api, index_now):
    profile = MentorProfileFactory(user__name="Li Na", bio="Supply chain")
    index_now()
    db.session.execute(update(MentorProfile).where(MentorProfile.id == profile.id).values(bio="Photonics packaging"))
    index_now()
    assert titles(search_api(q="photonics")) == ["Li Na"]


def test_logins_do_not_touch_the_index(factories, backend, outbox_rows, index_now):
    profile = MentorProfileFactory()
    index_now()
    before = len(outbox_rows())
    profile.user.last_login_at = profile.created_at
    db.session.flush()
    assert len(outbox_rows()) == before


def test_when_elasticsearch_is_down_nothing_is_lost(app, factories, backend, search_api, outbox_rows, index_now):
    if backend != "elasticsearch":
        pytest.skip("only Elasticsearch can be down")
    working = app.config["ELASTICSEARCH_URL"]
    app.config.update(ELASTICSEARCH_URL="http://127.0.0.1:9", ELASTICSEARCH_TIMEOUT=1)
    ResourceFactory(name="Anechoic chamber")
    index_now()  # the job fails: the row stays, with the error
    rows = outbox_rows()
    assert rows and all(r.applied_at is None and r.attempts == 1 and r.last_error for r in rows)
    response = search_api(q="anechoic")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "search_unavailable"
    app.config.update(ELASTICSEARCH_URL=working, ELASTICSEARCH_TIMEOUT=15)
    assert retry_outbox() == len(rows)  # what the periodic job does
    commit()
    assert titles(search_api(q="anechoic")) == ["Anechoic chamber"]


def test_status_and_reindex_commands(factories, backend, runner, index_now):
    ResourceFactory(name="Wind tunnel")
    index_now()
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 0, result.output
    assert "resource" in result.output and "Outbox: 0 pending" in result.output
    db.session.info[sync.DISABLED] = True  # a row the index does not know about
    try:
        ResourceFactory(name="Water tunnel")
    finally:
        db.session.info.pop(sync.DISABLED)
    index_now()
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 1 and "differs" in result.output
    before = services.get_backend().current_indices() if backend == "elasticsearch" else None
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "2 documents indexed" in result.output
    if backend == "elasticsearch":
        after = services.get_backend().current_indices()
        assert len(after) == 1 and after != before  # a new index behind the alias, the old one gone
    assert runner.invoke(args=["search", "status"]).exit_code == 0


def test_builtin_reindex_keeps_one_row_per_document(factories, backend, runner, index_now):
    if backend != "builtin":
        pytest.skip("built-in table only")
    ResourceFactory(name="Clean room")
    index_now()
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    assert len(db.session.scalars(select(SearchDocument)).all()) == 1
    assert db.session.scalars(select(SearchOutbox).where(SearchOutbox.applied_at.is_(None))).all() == []
