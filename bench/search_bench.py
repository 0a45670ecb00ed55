"""Search benchmark: index N synthetic bilingual documents into each backend, then time a fixed query set.

    python bench/search_bench.py                       # 100,000 documents, every backend available
    python bench/search_bench.py --docs 20000 --backends builtin-sqlite
    python bench/search_bench.py --write docs/benchmarks/search.md

Backends: builtin-sqlite (a scratch file), builtin-postgresql (a scratch database next to
TEST_DATABASE_URL or --pg-url, dropped afterwards), elasticsearch (osmem-server, the in-memory
Elasticsearch-compatible test server, on 127.0.0.1 - NOT a real Elasticsearch cluster).

What is timed: `backend.apply()` in batches of 1,000 (the outbox job's write path, with a commit per
batch) and `backend.search()` plus snippet building (what the service adds per hit, minus the
per-hit permission check, which loads the page's objects and is the same on every backend).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CITIES = ["青岛 Qingdao", "佛山 Foshan", "上海 Shanghai", "深圳 Shenzhen", "合肥 Hefei", "杭州 Hangzhou", "Munich",
          "成都 Chengdu", "武汉 Wuhan", "苏州 Suzhou"]
INDUSTRIES = ["智能家居 Smart home", "Consumer electronics", "Cleantech 清洁技术", "医疗器械 Medical devices",
              "新能源 New energy", "机器人 Robotics", "Food tech 食品科技", "物联网 IoT"]
EN_WORDS = ["laser", "cutter", "machining", "centre", "spindle", "injection", "moulding", "printer", "additive",
            "manufacturing", "chamber", "thermal", "vibration", "firmware", "supply", "chain", "fundraising",
            "design", "industrial", "prototype", "composter", "ventilator", "battery", "sensor", "robot", "vacuum",
            "filter", "aluminium", "housing", "bracket", "certification", "compliance", "scanner", "studio",
            "lathe", "milling", "welding", "assembly", "packaging", "photonics", "optics", "ceramic", "polymer",
            "textile", "coating", "testing", "calibration", "acoustic", "drone", "charger"]
ZH_WORDS = ["激光切割", "加工中心", "注塑", "模具", "三维打印", "增材制造", "供应链", "量产", "融资", "工业设计",
            "固件", "认证", "传感器", "机器人", "电池", "新风", "滤网", "扫地机", "焊接", "装配", "包装", "光学",
            "陶瓷", "涂层", "检测", "校准", "声学", "无人机", "充电", "铝合金"]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "Anna Schmidt", "Lukas Weber", "Maria Rossi", "Kenji Sato", "Li Wei"]
TYPES = ["resource"] * 5 + ["mentor"] * 2 + ["project"] * 2 + ["campaign"]

QUERIES = [
    ("english word", "laser"), ("english phrase", "injection moulding"), ("three terms", "thermal testing chamber"),
    ("chinese 2 chars", "融资"), ("chinese 2 chars", "模具"), ("chinese 4 chars", "激光切割"),
    ("chinese 3 chars", "供应链"), ("mixed", "机器人 sensor"), ("city", "Qingdao"), ("city zh", "青岛"),
    ("typo", "machning"), ("typo", "lazer cuter"), ("typo", "vibraton"), ("exact title", "Laser cutter 1234"),
    ("rare", "photonics ceramic coating"), ("no match", "zebra unicorn"),
]
FILTERED = [("filter city+type", {"text": "testing", "types": ("resource",), "city": "佛山 Foshan"}),
            ("sort price", {"text": "printer", "sort": "price"}),
            ("browse newest", {"text": "", "types": ("project",), "sort": "newest"})]


def documents(count: int, seed: int = 7):
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for i in range(count):
        doc_type = rng.choice(TYPES)
        en = rng.sample(EN_WORDS, 3)
        zh = rng.sample(ZH_WORDS, 2)
        if doc_type == "mentor":
            title = f"{rng.choice(NAMES)} {i}"
        else:
            title = f"{zh[0]} {en[0].capitalize()} {en[1]} {i}"
        body = " ".join(rng.choice(EN_WORDS) for _ in range(25)) + "。" + "，".join(rng.sample(ZH_WORDS, 4)) + "。"
        price = rng.randrange(1000, 300000, 500) if doc_type == "resource" else None
        yield {
            "type": doc_type, "id": i + 1, "title": title,
            "keywords": " · ".join([*zh, en[2], rng.choice(INDUSTRIES)]), "body": body,
            "city": rng.choice(CITIES), "industries": [rng.choice(INDUSTRIES)],
            "languages": rng.sample(["zh", "en", "de", "ja"], 2) if doc_type == "mentor" else [],
            "kind": rng.choice(["lab", "equipment", "workshop"]) if doc_type == "resource" else "",
            "price_min": price, "price_max": price, "currency": "CNY" if price else "",
            "rating": round(rng.uniform(3, 5), 1) if doc_type == "mentor" else None,
            "created_at": now - timedelta(minutes=i),
        }
    # the exact-title query ("Laser cutter 1234") has a target whatever the random titles are
    yield {"type": "resource", "id": count + 1, "title": "Laser cutter 1234", "keywords": "equipment", "body": "",
           "city": "佛山 Foshan", "industries": [], "languages": [], "kind": "equipment", "price_min": 9000,
           "price_max": 9000, "currency": "CNY", "rating": None, "created_at": now}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_backend(name: str, app, count: int, rounds: int) -> dict:
    from portal.db import commit
    from portal.extensions import db
    from portal.search.interfaces import SearchQuery
    from portal.search.services import get_backend
    from portal.search.text import snippet

    with app.app_context():
        db.drop_all()
        db.create_all()
        backend = get_backend()
        print(f"[{name}] indexing {count:,} documents ...", flush=True)
        started, batch = time.perf_counter(), []
        for document in documents(count):
            batch.append(document)
            if len(batch) == 1000:
                backend.apply(batch, [])
                commit()
                batch = []
        if batch:
            backend.apply(batch, [])
            commit()
        index_seconds = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE search_document"))
            commit()
        print(f"[{name}] indexed in {index_seconds:.1f} s ({count / index_seconds:,.0f} docs/s)", flush=True)

        cases = [(label, SearchQuery(text=q)) for label, q in QUERIES]
        cases += [(label, SearchQuery(**kwargs)) for label, kwargs in FILTERED]
        timings: dict[str, list[float]] = {}
        totals: dict[str, int] = {}
        for _label, query in cases:  # warm-up
            backend.search(query)
        for _ in range(rounds):
            for label, query in cases:
                t0 = time.perf_counter()
                result = backend.search(query)
                for hit in result.hits:
                    snippet([hit.body, hit.keywords, hit.title], hit.matched)
                elapsed = (time.perf_counter() - t0) * 1000
                key = f"{label}: {query.text or '(empty)'}"
                timings.setdefault(key, []).append(elapsed)
                totals[key] = result.total
                db.session.rollback()
        every = [t for values in timings.values() for t in values]
        suggest_times = []
        for prefix in ("las", "激光", "Anna", "Laser cutter 12", "供应"):
            for _ in range(rounds):
                t0 = time.perf_counter()
                backend.suggest(prefix, 8)
                suggest_times.append((time.perf_counter() - t0) * 1000)
                db.session.rollback()
        return {"name": name, "docs": count, "load": os.getloadavg()[0], "index_seconds": index_seconds, "docs_per_second": count / index_seconds,
                "p50": statistics.median(every), "p95": percentile(every, 0.95),
                "suggest_p50": statistics.median(suggest_times), "suggest_p95": percentile(suggest_times, 0.95),
                "per_query": {k: (statistics.median(v), percentile(v, 0.95), totals[k]) for k, v in timings.items()}}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    import sqlite3

    pg = ""
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs (nproc), {cpu}, {mem_kb / 1024 / 1024:.1f} GiB RAM; Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, {pg or 'PostgreSQL client unknown'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backends", default="builtin-sqlite,builtin-postgresql,elasticsearch")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/test_search"))
    parser.add_argument("--es-url", help="a real Elasticsearch to benchmark instead of osmem-server "
                                         "(uses the alias bench-search there)")
    parser.add_argument("--write", help="write the markdown report to this file")
    args = parser.parse_args()

    import logging

    logging.disable(logging.INFO)
    from tests.conftest import make_test_app

    results = []
    for name in args.backends.split(","):
        if name == "builtin-sqlite":
            path = Path(tempfile.mkdtemp(prefix="search-bench-")) / "bench.sqlite3"
            results.append(run_backend(name, make_test_app(f"sqlite:///{path}"), args.docs, args.rounds))
        elif name == "builtin-postgresql":
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            from portal.config import normalise_database_url

            base = make_url(normalise_database_url(args.pg_url))
            database = f"{base.database}_bench"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{database}"'))
            url = base.set(database=database).render_as_string(hide_password=False)
            try:
                app = make_test_app(url)
                results.append(run_backend(name, app, args.docs, args.rounds))
                with app.app_context():
                    from portal.extensions import db

                    db.engine.dispose()
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                admin.dispose()
        elif name == "elasticsearch" and args.es_url:
            path = Path(tempfile.mkdtemp(prefix="search-bench-")) / "bench.sqlite3"
            app = make_test_app(f"sqlite:///{path}", ELASTICSEARCH_URL=args.es_url, SEARCH_INDEX="bench-search",
                                ELASTICSEARCH_TIMEOUT=60)
            results.append(run_backend(name, app, args.docs, args.rounds))
        elif name == "elasticsearch":
            from osmem_server import OsmemServer

            path = Path(tempfile.mkdtemp(prefix="search-bench-")) / "bench.sqlite3"
            with OsmemServer.start() as server:
                app = make_test_app(f"sqlite:///{path}", ELASTICSEARCH_URL=server.url,
                                    ELASTICSEARCH_COMPAT_HEADERS=False, ELASTICSEARCH_TIMEOUT=60)
                results.append(run_backend(name, app, args.docs, args.rounds))
        else:
            parser.error(f"unknown backend {name}")

    lines = [
        "# Search benchmark",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Command: `python bench/search_bench.py --docs {args.docs} --rounds {args.rounds} --backends {args.backends}`",
        f"- Corpus: {args.docs:,} synthetic bilingual documents (50% resources, 20% mentors, 20% projects, 10% "
        "campaigns; titles, keywords and ~30-word bodies mixing English and Chinese words, 10 cities, 8 industries)",
        f"- Queries: {len(QUERIES) + len(FILTERED)} fixed queries x {args.rounds} rounds after one warm-up round; "
        "each time includes snippet building for the page (20 hits) but not the per-hit permission check",
        "- `elasticsearch` ran against **osmem-server** (in-memory, single process, the test double), "
        "not a real Elasticsearch cluster: its numbers show the client path, not Elasticsearch's speed.",
        "",
        "| Backend | Indexing (docs/s) | Index time (s) | Query p50 (ms) | Query p95 (ms) | Suggest p50 (ms) "
        "| Suggest p95 (ms) | Load avg at end |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(f"| {r['name']} | {r['docs_per_second']:,.0f} | {r['index_seconds']:.1f} | {r['p50']:.1f} | "
                     f"{r['p95']:.1f} | {r['suggest_p50']:.1f} | {r['suggest_p95']:.1f} | {r['load']:.1f} |")
    lines += ["", "## Per query (p50 / p95 ms, total hits)", ""]
    header = "| Query | " + " | ".join(r["name"] for r in results) + " |"
    lines += [header, "| --- |" + " ---: |" * len(results)]
    for key in results[0]["per_query"]:
        cells = []
        for r in results:
            p50, p95, total = r["per_query"].get(key, (0, 0, 0))
            cells.append(f"{p50:.1f} / {p95:.1f} ({total:,})")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.write:
        Path(args.write).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
