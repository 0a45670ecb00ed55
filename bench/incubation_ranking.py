"""Benchmark: the manager's ranking (weighted averages + per-reviewer z-scores) for a large program.

    python bench/incubation_ranking.py                       # SQLite scratch file
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_incubation python bench/incubation_ranking.py

Creates a scratch database (PostgreSQL: `<name>_rankbench_<pid>`, dropped afterwards), a program with 4
weighted criteria, N applications and a pool of 20 reviewers, each application reviewed by 3 of them
(balanced auto-assignment). Times `services.ranking()` and the HTML ranking page (with its chart) and the
JSON ranking through the Flask test client. Prints a Markdown table. Not a test.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "100,500,2000").split(",")]
REVIEWERS = 20
PER_APPLICATION = 3
REPEAT = 5
PASSWORD = "bench-password-123"


def scratch(url: str | None) -> str:
    if not url:
        return f"sqlite:///{tempfile.mkdtemp(prefix='rankbench-')}/bench.sqlite3"
    parsed = make_url(url)
    name = f"{parsed.database}_rankbench_{os.getpid()}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop(url: str, base: str | None) -> None:
    if not base:
        return
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def timed(fn, repeat: int = REPEAT) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def measure(size: int, base: str | None) -> tuple:
    from incubation import services
    from incubation.models import Application
    from portal.auth.models import Role, User, UserRole
    from portal.auth.services import create_api_token, hash_password
    from portal.db import commit, utcnow
    from portal.extensions import db
    from portal.organisations.models import Membership, Organisation
    from tests.conftest import make_test_app

    url = scratch(base)
    app = make_test_app(url)
    try:
        with app.app_context():
            db.create_all()
            rng = random.Random(size)
            manager = User(email="m@example.com", name="Manager", password_hash=hash_password(PASSWORD),
                           confirmed_at=utcnow())
            manager.role_rows = [UserRole(role=Role.COMPANY)]
            db.session.add(manager)
            db.session.flush()
            company = Organisation(name="Company", kind="company", verified_at=utcnow())  # runs programs
            company.memberships.append(Membership(user_id=manager.id, role="owner"))
            db.session.add(company)
            db.session.flush()
            from datetime import timedelta

            from incubation.schemas.programs import NewProgram, NewReview

            program = services.create_program(company, NewProgram(
                organisation_id=company.id, title="Bench", mode="open_source", opens_at=utcnow() - timedelta(days=1),
                closes_at=utcnow() + timedelta(days=1), capacity=50,
                criteria=[{"name": n, "weight": w} for n, w in (("Market", 4), ("Team", 3), ("Tech", 2), ("Impact", 1))]))
            reviewers = []
            for index in range(REVIEWERS):
                reviewer = User(email=f"r{index}@example.com", name=f"Reviewer {index}", password_hash="x")
                db.session.add(reviewer)
                reviewers.append(reviewer)
            from incubation.models import Project

            db.session.flush()
            for index in range(size):
                startup = Organisation(name=f"Startup {index}", kind="startup")
                db.session.add(startup)
                db.session.flush()
                project = Project(organisation_id=startup.id, title=f"Project {index}", mode="open_source",
                                  status="submitted")
                db.session.add(project)
                db.session.flush()
                db.session.add(Application(program_id=program.id, project_id=project.id))
            db.session.flush()
            start = time.perf_counter()
            assignments = services.auto_assign(program, PER_APPLICATION, reviewers, manager)
            assign_ms = (time.perf_counter() - start) * 1000
            harshness = {r.id: rng.uniform(-1.5, 1.5) for r in reviewers}
            for assignment in assignments:
                bias = harshness[assignment.reviewer_id]
                scores = {c.name: max(0, min(5, round(rng.gauss(3, 1) + bias))) for c in program.criteria}
                services.submit_review(assignment, NewReview(scores=scores, recommendation=rng.choice(["yes", "maybe", "no"])))
            _token, raw = create_api_token(manager, "bench")
            program_id = program.id
            commit()
            loads = sorted(services.active_load(program).values())

        with app.app_context():
            program = db.session.get(type(program), program_id)
            rank_ms = timed(lambda: services.ranking(program))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {raw}"}
        api_ms = timed(lambda: client.get(f"/api/v1/programs/{program_id}/ranking", headers=headers))
        login = client.post("/auth/login", data={"email": "m@example.com", "password": PASSWORD})
        assert login.status_code == 302, login.status_code
        page = client.get(f"/programs/{program_id}/applications")
        assert page.status_code == 200 and b"data-chart" in page.data, page.status_code
        page_ms = timed(lambda: client.get(f"/programs/{program_id}/applications"))
        return size, size * PER_APPLICATION, assign_ms, loads[0], loads[-1], rank_ms, api_ms, page_ms
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop(url, base)


def main() -> None:
    base = os.environ.get("BENCH_DATABASE_URL")
    rows = [measure(size, base) for size in SIZES]
    backend = "PostgreSQL" if base else "SQLite"
    print(f"\nBackend: {backend}; {REVIEWERS} reviewers, {PER_APPLICATION} reviews per application, "
          f"median of {REPEAT} runs (max in brackets)\n")
    print("| applications | reviews | auto-assign (ms) | reviewer load min-max | ranking() (ms) | "
          "GET ranking API (ms) | ranking page with chart (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size, reviews, assign_ms, lo, hi, rank, api, page in rows:
        print(f"| {size} | {reviews} | {assign_ms:.0f} | {lo}-{hi} | {rank[0]:.1f} ({rank[1]:.1f}) | "
              f"{api[0]:.1f} ({api[1]:.1f}) | {page[0]:.1f} ({page[1]:.1f}) |")


if __name__ == "__main__":
    main()
