"""Bench data for bench/platform_bench.py: a fresh database with the demo data, then growth units.

Adapted from ../shared/bench/portal_bench.py (prepare, grow). Run with the portal's venv Python from the
repository root; platform_bench.py calls it in a subprocess per step:

    python bench/platform_data.py prepare --db URL --state FILE
        URL: sqlite:///<file> or postgresql://...:5432/<perf_* or helper_*> (dropped and re-created).
        `flask db upgrade`, `flask seed-demo`, then one company with 20 bookable resources (UTC, open all
        day), 40 users each owning a startup, one bearer token each (what the booking comparison uses).
    python bench/platform_data.py grow --state FILE --units N
        Adds N units; one unit = 20 resources with 20 past bookings each, 40 users, 50 projects, 10 live
        campaigns (2 rewards, 10 pledges each), 2 mentor profiles, 5 ideas with 3 votes each, plus 20
        past bookings on the first demo resource and 10 pledges on the first demo campaign. Search outbox
        off during the load, then a full reindex.
The state file (JSON) is the one ../shared/bench/portal_bench.py writes (checkout, db, python,
resource_ids, tokens, user_ids, staff_token, units).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.dont_write_bytecode = True

SECRET = "platform-bench-secret-key-0123456789abcdef"
AUDIT_KEY = base64.b64encode(b"platform-bench-audit-key-32bytes").decode()  # bench only (32 bytes)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> str:
    return url.split("sqlite:///", 1)[1]


def pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_pg_database(url: str) -> None:
    import psycopg

    base, name = pg_conninfo(url).rsplit("/", 1)
    if not name.startswith(("perf_", "helper_")):
        sys.exit("PostgreSQL bench databases must be named perf_* or helper_* (they are dropped)")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def portal_env(db_url: str, redis_url: str | None, base_url: str = "http://127.0.0.1:5200") -> dict:
    """Production settings (what a deployment runs) on the bench database."""
    env = dict(os.environ, DATABASE_URL=db_url, SECRET_KEY=SECRET, AUDIT_SIGNING_KEY=AUDIT_KEY,
               PORTAL_ENV="production", PUBLIC_BASE_URL=base_url, PYTHONDONTWRITEBYTECODE="1",
               LOG_FORMAT="json")
    env.pop("ELASTICSEARCH_URL", None)
    env.pop("PAGE_CACHE_SECONDS", None)
    env.pop("FLASK_ENV", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


def app_for(state: dict):
    os.chdir(state["checkout"])
    sys.path.insert(0, state["checkout"])
    os.environ.update(portal_env(state["db"], state.get("redis")))
    import logging

    logging.disable(logging.INFO)
    from portal import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": state["db"], "SECRET_KEY": SECRET, "MAIL_SUPPRESS": True})


def cmd_prepare(args) -> None:
    checkout = str(ROOT)
    url = args.db
    if is_sqlite(url):
        path = Path(sqlite_path(url))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        create_pg_database(url)
    state = {"checkout": checkout, "db": url, "python": sys.executable, "redis": args.redis}
    env = portal_env(url, args.redis)
    flask = [sys.executable, "-m", "flask", "--app", "portal"]
    for step in (["db", "upgrade"], ["seed-demo"]):
        done = subprocess.run(flask + step, cwd=checkout, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"flask {' '.join(step)} failed ({done.returncode}):\n{done.stderr[-3000:]}")

    app = app_for(state)
    from portal.auth.models import Role
    from portal.auth.services import create_api_token
    from portal.db import commit
    from portal.extensions import db
    from tests import factories
    from tests.resources.factories import ResourceFactory

    with app.app_context():
        company = factories.OrganisationFactory(kind="company", name="Bench Company", city="Qingdao")
        staff = factories.UserFactory(email="bench-staff@example.com", roles=[Role.COMPANY])
        factories.MembershipFactory(organisation=company, user=staff, role="owner")
        always = [(d, "00:00", "23:59") for d in range(7)]
        resources = [ResourceFactory(organisation=company, name=f"Bench tool {i:02d}", timezone="UTC",
                                     min_minutes=30, max_minutes=480, buffer_minutes=0, advance_days=60,
                                     opening_hours=always) for i in range(args.resources)]
        tokens, user_ids = [], []
        for i in range(args.users):
            user = factories.UserFactory(email=f"bench-user{i:02d}@example.com", name=f"Bench user {i:02d}")
            factories.OrganisationFactory(kind="startup", name=f"Bench startup {i:02d}", owner=user)
            tokens.append(create_api_token(user, "bench")[1])
            user_ids.append(user.id)
        staff_token = create_api_token(staff, "bench")[1]
        commit()
        state.update(resource_ids=[r.id for r in resources], tokens=tokens, user_ids=user_ids,
                     staff_token=staff_token, units=0)
        db.session.remove()
        db.engine.dispose()
    Path(args.state).write_text(json.dumps(state, indent=1))
    print(json.dumps({"prepared": url, "resources": len(state["resource_ids"]), "users": len(tokens)}))


CITIES = ["青岛 Qingdao", "佛山 Foshan", "上海 Shanghai", "深圳 Shenzhen", "杭州 Hangzhou", "北京 Beijing",
          "苏州 Suzhou", "成都 Chengdu", "武汉 Wuhan", "西安 Xi'an"]
KINDS = ["lab", "equipment", "workshop", "production_line"]
INDUSTRIES = ["Smart home", "Robotics", "Medtech", "Cleantech", "Food", "Mobility", "Materials", "IoT"]
WORDS = ["laser", "cutter", "thermal", "chamber", "injection", "moulding", "sensor", "printer", "CNC",
         "模具", "激光", "传感器", "供应链", "机器人", "检测", "注塑", "样机", "新风"]


def cmd_grow(args) -> None:
    state = json.loads(Path(args.state).read_text())
    app = app_for(state)
    from sqlalchemy import select

    from funding.models import Campaign, Pledge, Reward
    from incubation.models import Idea, IdeaVote, MentorProfile, Project
    from portal.auth.models import User
    from portal.db import commit, utcnow
    from portal.extensions import db
    from portal.search import services as search_services
    from portal.search.sync import DISABLED
    from resources.models import Booking, OpeningHours, Resource, ResourcePrice
    from tests import factories

    rng = random.Random(7 + state.get("units", 0))
    t0 = time.monotonic()
    with app.app_context():
        db.session.info[DISABLED] = True
        featured_resource = db.session.scalar(select(Resource).where(Resource.id.not_in(state["resource_ids"]))
                                              .order_by(Resource.id))
        featured_campaign = db.session.scalar(select(Campaign).order_by(Campaign.id))
        anchor = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
        from datetime import time as dtime
        for u in range(state.get("units", 0), state.get("units", 0) + args.units):
            company = factories.OrganisationFactory(kind="company", name=f"Growth company {u}",
                                                    city=CITIES[u % 10])
            users = [User(email=f"grow{u}-{i}@example.com", name=f"Grow user {u}-{i}", password_hash="x",
                          locale="en", confirmed_at=utcnow()) for i in range(40)]
            db.session.add_all(users)
            db.session.flush()
            for i in range(20):
                words = " ".join(rng.sample(WORDS, 3))
                resource = Resource(organisation_id=company.id, name=f"{words} {u}-{i}", kind=KINDS[i % 4],
                                    description=f"{words} for prototyping; " + " ".join(rng.sample(WORDS, 8)),
                                    specifications={"Spindle": "20,000 rpm"}, city=CITIES[(u + i) % 10],
                                    timezone="Asia/Shanghai", published=True)
                resource.prices = [ResourcePrice(audience=a, unit="hour", amount=amt, currency="CNY")
                                   for a, amt in (("incubatee", 8000), ("startup", 15000), ("external", 30000))]
                resource.opening_hours = [OpeningHours(weekday=d, opens=dtime(9), closes=dtime(18))
                                          for d in range(5)]
                db.session.add(resource)
                db.session.flush()
                for k in range(20):  # past history: 2-hour bookings, back to back every 3 hours
                    start = anchor - timedelta(hours=3 * (k + 1))
                    db.session.add(Booking(resource_id=resource.id, user_id=users[k].id, start_at=start,
                                           end_at=start + timedelta(hours=2), blocked_from=start,
                                           blocked_until=start + timedelta(hours=2), status="completed",
                                           audience="external", price_unit="hour", price_amount=60000,
                                           currency="CNY"))
            for k in range(20):  # history of the featured (demo) resource
                start = anchor - timedelta(days=30) - timedelta(hours=3 * (u * 20 + k))
                db.session.add(Booking(resource_id=featured_resource.id, user_id=users[k].id, start_at=start,
                                       end_at=start + timedelta(hours=2), blocked_from=start,
                                       blocked_until=start + timedelta(hours=2), status="completed",
                                       audience="external", price_unit="hour", price_amount=60000,
                                       currency="CNY"))
            startups = [factories.OrganisationFactory(kind="startup", name=f"Growth startup {u}-{s}",
                                                      city=CITIES[(u + s) % 10]) for s in range(5)]
            projects = []
            for p in range(50):
                words = " ".join(rng.sample(WORDS, 3))
                project = Project(organisation_id=startups[p % 5].id, title=f"{words} project {u}-{p}",
                                  summary=f"{words}: " + " ".join(rng.sample(WORDS, 10)),
                                  industry=INDUSTRIES[p % 8], stage="prototype",
                                  mode="crowdfunding", funding_sought_amount=500_000_00, currency="CNY",
                                  status=["submitted", "incubating", "accepted", "screening", "graduated"][p % 5])
                db.session.add(project)
                projects.append(project)
            db.session.flush()
            for c in range(10):
                campaign = Campaign(project_id=projects[c * 5 + 1].id, title=f"Campaign {u}-{c} "
                                    + " ".join(rng.sample(WORDS, 3)), story="Help us build the first run.",
                                    goal_amount=100_000_00, currency="CNY",
                                    deadline=utcnow() + timedelta(days=10 + (u * 10 + c) % 50),
                                    funding_model="all_or_nothing", status="live")
                db.session.add(campaign)
                db.session.flush()
                rewards = [Reward(campaign_id=campaign.id, title=f"Reward {r}", description="One unit",
                                  amount=(r + 1) * 500_00) for r in range(2)]
                db.session.add_all(rewards)
                db.session.flush()
                for b in range(10):
                    db.session.add(Pledge(campaign_id=campaign.id, backer_id=users[b + 20].id,
                                          reward_id=rewards[b % 2].id, amount=rewards[b % 2].amount,
                                          status="active", provider="sandbox", customer_ref="cus_sandbox_test",
                                          payment_method_ref="pm_sandbox_visa",
                                          card_label="Visa •••• 4242 (sandbox)"))
            for b in range(10):
                db.session.add(Pledge(campaign_id=featured_campaign.id, backer_id=users[30 + b].id,
                                      amount=100_00, status="active", provider="sandbox",
                                      customer_ref="cus_sandbox_test", payment_method_ref="pm_sandbox_visa",
                                      card_label="Visa •••• 4242 (sandbox)"))
            for m in range(2):  # mentors and ideas (lists the API serves with paginate_list)
                db.session.add(MentorProfile(user_id=users[m].id, bio="Fifteen years of mass production",
                                             expertise=rng.sample(WORDS, 2), industries=[INDUSTRIES[m]],
                                             languages=["zh", "en"], organisation=f"Growth company {u}"))
            for i in range(5):
                idea = Idea(author_id=users[i].id, title=f"Idea {u}-{i} " + " ".join(rng.sample(WORDS, 2)),
                            description="Something people want")
                db.session.add(idea)
                db.session.flush()
                db.session.add_all(IdeaVote(idea_id=idea.id, user_id=users[10 + v].id) for v in range(3))
            db.session.flush()
            if (u + 1) % 10 == 0:
                commit()
                print(f"  unit {u + 1}: {time.monotonic() - t0:.0f}s", file=sys.stderr)
        commit()
        db.session.info.pop(DISABLED, None)
        t_load = time.monotonic() - t0
        indexed = search_services.reindex()
        commit()
        db.session.remove()
        db.engine.dispose()
    state["units"] = state.get("units", 0) + args.units
    Path(args.state).write_text(json.dumps(state, indent=1))
    print(json.dumps({"units_total": state["units"], "load_s": round(t_load, 1),
                      "reindex_s": round(time.monotonic() - t0 - t_load, 1), "indexed": indexed}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--db", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--redis", default=None, help="REDIS_URL for the portal (production needs one)")
    p.add_argument("--resources", type=int, default=20)
    p.add_argument("--users", type=int, default=40)
    g = sub.add_parser("grow")
    g.add_argument("--state", required=True)
    g.add_argument("--units", type=int, required=True)
    args = ap.parse_args()
    {"prepare": cmd_prepare, "grow": cmd_grow}[args.cmd](args)


if __name__ == "__main__":
    main()
