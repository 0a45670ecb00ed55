"""Search: one service over mentors, labs and equipment, projects and live campaigns.

Two backends behind one interface (interfaces.py): the built-in database search (SQLite FTS5
trigram / PostgreSQL pg_trgm + full text) by default, Elasticsearch when ELASTICSEARCH_URL is set.
Changes reach the index through a transactional outbox applied after commit (sync.py, tasks.py).
"""


from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from portal import jobs
    from portal.search import api, cli, documents, models, sync, views  # noqa: F401  (models and listeners register)
    from portal.templating import nav_item

    documents.register_core_sources()  # the domains registered their types in their own init_app
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.search_cli)
    nav_item(_l("Search"), "search.index", order=80)
    jobs.register_periodic("search-outbox", "portal.search.tasks.retry_outbox", 60)
