"""Platform benchmark (issue 13, point 6): pages and API lists vs a bare-Flask ceiling, statements per page
as the data grows x1/x10/x100, booking creation vs NEMO, search p95 at 100k documents; one run, one report.

    .venv/bin/python bench/platform_bench.py --quick                      # ~4 min: 1x and 10x, SQLite, short wrk
    .venv/bin/python bench/platform_bench.py --write docs/benchmarks.md   # full run, ~25 min

Per database (SQLite file in a temp dir; PostgreSQL `perf_pages`, --pg-url to change; dropped and re-created):
  prepare   `flask db upgrade`, `flask seed-demo`, the bench data (bench/platform_data.py prepare), 1 unit
  counts    at every scale (1x, 10x, 100x units of bench/platform_data.py grow): one request per page on a
            server with the page cache off and Redis flushed just before it (statements from the X-Queries
            header of bench/platform_wsgi.py), then N requests by one client (p50)
  wrk       at the largest scale: wrk (8 connections, a few seconds) over every page and API list on two
            portal servers (page cache as configured / PAGE_CACHE_SECONDS=0), with the bare-Flask ceiling
            page (bench/platform_ceiling.py) measured just before and after each page: ratio = page req/s
            divided by the mean of those two ceiling runs
All servers: gunicorn 2 sync workers (`-c python:portal.gunicorn_conf` for the portal), 127.0.0.1,
PORTAL_ENV=production, SECRET_KEY and AUDIT_SIGNING_KEY set, REDIS_URL=--redis-url (db flushed at start).
Then booking creation against NEMO 8.1.5 (../shared/bench: nemo_setup.sh builds NEMO, nemo_bench.py logs
in and books; NEMO, portal SQLite and portal PostgreSQL rounds interleaved seconds apart) and search p95
at 100k documents from bench/search_bench.py (or from docs/benchmarks/search.md with --skip-search).
Progress lines go to stderr; the JSON goes to --json (docs/benchmarks/platform.json with --write).
--write FILE replaces only the section between <!-- platform-bench:start --> and <!-- platform-bench:end -->
(markers inserted after the first table when absent).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True

import platform_data as pdata  # noqa: E402
import requests  # noqa: E402

START, END = "<!-- platform-bench:start -->", "<!-- platform-bench:end -->"
T0 = time.monotonic()

# name, path, target class. Class: "50" = home, detail pages, API lists (>= 50% of the ceiling);
# "30" = list pages and search (>= 30%); None = statements only (no wrk).
PAGES = [
    ("home", "/", "50"),
    ("resource_list", "/resources/", "30"),
    ("resource_detail", "/resources/1", "50"),
    ("campaign_list", "/campaigns/", "30"),
    ("campaign_detail", "/campaigns/1", "50"),
    ("project_list", "/projects/", "30"),
    ("project_detail", "/projects/1", "50"),
    ("search_page", "/search?q=laser", "30"),
    ("ideas_page", "/ideas/", "30"),
    ("mentors_page", "/mentors/", "30"),
    ("idle_capacity", "/resources/idle", "30"),
    ("api_resources", "/api/v1/resources", "50"),
    ("api_projects", "/api/v1/projects", "50"),
    ("api_campaigns", "/api/v1/campaigns", "50"),
    ("api_mentors", "/api/v1/mentors", "50"),
    ("api_ideas", "/api/v1/ideas", "50"),
    ("api_search", "/api/v1/search?q=laser", "30"),
    # statements only
    ("programs_page", "/programs/", None),
    ("calendar_week", "/resources/1/calendar", None),
    ("availability_api", "/api/v1/resources/1/availability", None),
    ("resource_api", "/api/v1/resources/1", None),
    ("reviews_api", "/api/v1/resources/1/reviews", None),
    ("campaign_api", "/api/v1/campaigns/1", None),
    ("ledger_api", "/api/v1/campaigns/1/ledger", None),
]


# ---------------------------------------------------------------- small helpers

def load3() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def progress(phase: str, msg: str = "") -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {phase}: {msg} (load {load3()[0]:.2f})", file=sys.stderr, flush=True)


class Phases:
    """Load average at the start and end of each phase."""

    def __init__(self):
        self.rows: list[dict] = []

    def start(self, name: str) -> dict:
        row = {"phase": name, "start_s": round(time.monotonic() - T0, 1), "load_start": load3()}
        self.rows.append(row)
        progress(name, "start")
        return row

    def end(self, row: dict) -> None:
        row["end_s"] = round(time.monotonic() - T0, 1)
        row["load_end"] = load3()
        progress(row["phase"], f"done in {row['end_s'] - row['start_s']:.0f}s")


def free_port(low: int = 5260, high: int = 5299) -> int:
    for port in range(low, high + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


def run_quiet(argv, timeout, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if done.returncode:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


class Server:
    """A gunicorn master in its own process group (stopped with SIGTERM, SIGKILL after 20 s)."""

    def __init__(self, argv, url, log_path, env=None, cwd=None, wait_s=120):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with code {self.proc.returncode}; see {log_path}")
            try:
                requests.get(url, timeout=30)
                return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not answer within {wait_s}s; see {log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def start_portal(state: dict, port: int, log: Path, redis_url: str, page_cache: str | None) -> Server:
    env = pdata.portal_env(state["db"], redis_url, f"http://127.0.0.1:{port}")
    env["PYTHONPATH"] = str(HERE)
    env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="platform-bench-metrics-")
    if page_cache is not None:
        env["PAGE_CACHE_SECONDS"] = page_cache
    argv = [state["python"], "-m", "gunicorn", "-c", "python:portal.gunicorn_conf", "--workers", "2",
            "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "platform_wsgi:app"]
    return Server(argv, f"http://127.0.0.1:{port}/healthz", log, env=env, cwd=state["checkout"])


def start_ceiling(python: str, port: int, log: Path) -> Server:
    argv = [python, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning", "platform_ceiling:create_app()"]
    return Server(argv, f"http://127.0.0.1:{port}/", log, cwd=HERE,
                  env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


# ---------------------------------------------------------------- machine

def machine(pg_url: str | None) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    import sqlite3
    from importlib.metadata import version

    info = {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kb / 1024 / 1024, 1),
            "os": platform.platform(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for pkg in ("flask", "jinja2", "werkzeug", "gunicorn", "sqlalchemy", "psycopg"):
        try:
            info[pkg] = version(pkg)
        except Exception:
            info[pkg] = None
    try:
        info["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip()
    except OSError:
        info["wrk"] = None
    if pg_url:
        try:
            import psycopg

            base = pdata.pg_conninfo(pg_url).rsplit("/", 1)[0]
            with psycopg.connect(base + "/postgres") as conn:
                info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as error:
            info["postgresql"] = f"unavailable ({type(error).__name__})"
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "portal", "resources", "funding",
                                "incubation", "migrations"], cwd=ROOT, capture_output=True, text=True).stdout
        info["git_dirty_app_files"] = len(dirty.splitlines())
    except OSError:
        pass
    return info


# ---------------------------------------------------------------- statements and single-client latency

def count_pages(base: str, redis_url: str, samples: int, pages) -> dict:
    out = {}
    session = requests.Session()
    for name, path, _ in pages:
        flush_redis(redis_url)  # cold: no page cache (server runs with 0), no cached aggregates
        url = base + path
        t = time.perf_counter()
        first = session.get(url, timeout=300)
        first_ms = (time.perf_counter() - t) * 1000
        warm, times = None, []
        deadline = time.monotonic() + 60  # a very slow page gets fewer samples
        for _ in range(samples):
            t = time.perf_counter()
            r = session.get(url, timeout=300)
            times.append((time.perf_counter() - t) * 1000)
            warm = warm or r
            if time.monotonic() > deadline:
                break
        times.sort()
        out[name] = {"path": path, "status": first.status_code, "bytes": len(first.content),
                     "statements": int(first.headers.get("X-Queries", -1)),
                     "statements_data": int(first.headers.get("X-Queries-Data", -1)),
                     "statements_warm": int(warm.headers.get("X-Queries", -1)) if warm is not None else None,
                     "first_ms": round(first_ms, 1), "samples": len(times),
                     "p50_ms": round(statistics.median(times), 1) if times else None}
        progress("counts", f"{name} {first.status_code} {out[name]['statements']} statements "
                           f"p50 {out[name]['p50_ms']} ms")
    return out


# ---------------------------------------------------------------- wrk

def wrk(url: str, seconds: float, connections: int, raw_path: Path) -> dict:
    load = load3()[0]
    done = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url],
                          capture_output=True, text=True, timeout=seconds + 60)
    text = done.stdout + done.stderr
    raw_path.write_text(text)

    def ms(value: str | None) -> float | None:
        if not value:
            return None
        m = re.match(r"([\d.]+)(us|ms|s|m)$", value)
        if not m:
            return None
        return round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)], 2)

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: (.*)", text)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50_ms": ms(p50 and p50.group(1)),
            "p99_ms": ms(p99 and p99.group(1)), "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sock.group(1).strip() if sock else None, "load1": load}


def wrk_pages(bases: dict, ceiling: str, seconds: float, connections: int, raw_dir: Path, pages) -> dict:
    """C, P1(on), P1(off), C, P2(on), P2(off), C, ...: each page shares its two ceiling runs."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    # warm: templates compiled, connections opened, the page cache filled
    subprocess.run(["wrk", "-t1", "-c2", "-d2s", ceiling], capture_output=True, timeout=60)
    for _name, path, _ in pages:
        for base in bases.values():
            subprocess.run(["wrk", "-t1", "-c2", "-d1s", base + path], capture_output=True, timeout=120)
    ceilings = [wrk(ceiling, seconds, connections, raw_dir / "ceiling_0.txt")]
    out = {}
    for i, (name, path, _) in enumerate(pages, 1):
        row = {"path": path}
        for mode, base in bases.items():
            row[mode] = wrk(base + path, seconds, connections, raw_dir / f"{name}_{mode}.txt")
        ceilings.append(wrk(ceiling, seconds, connections, raw_dir / f"ceiling_{i}.txt"))
        before, after = ceilings[-2]["rps"], ceilings[-1]["rps"]
        row["ceiling_rps"] = round((before + after) / 2, 1)
        row["ceiling_before_after"] = [before, after]
        for mode in bases:
            row[f"ratio_{mode}"] = round(row[mode]["rps"] / row["ceiling_rps"], 4) if row["ceiling_rps"] else None
        out[name] = row
        progress("wrk", f"{name}: on {row['cache_on']['rps']:.0f} off {row['cache_off']['rps']:.0f} "
                        f"ceiling {row['ceiling_rps']:.0f} req/s -> {100 * (row['ratio_cache_on'] or 0):.1f}% / "
                        f"{100 * (row['ratio_cache_off'] or 0):.1f}%")
    return {"pages": out, "ceiling_runs": ceilings}


# ---------------------------------------------------------------- one database

def run_database(kind: str, url: str, args, work: Path, phases: Phases) -> dict:
    result: dict = {"database": kind, "url": url, "scales": {}, "units": {}}
    state_path = work / f"state-{kind}.json"
    python = sys.executable
    row = phases.start(f"{kind} prepare")
    flush_redis(args.redis_url)
    run_quiet([python, str(HERE / "platform_data.py"), "prepare", "--db", url, "--state", str(state_path),
               "--redis", args.redis_url], timeout=600, cwd=ROOT)
    phases.end(row)
    units = 0
    scales = [int(s) for s in args.scales.split(",")]
    wrk_pages_list = [p for p in PAGES if p[2] is not None]
    for scale in scales:
        row = phases.start(f"{kind} grow to {scale}x")
        grown = run_quiet([python, str(HERE / "platform_data.py"), "grow", "--state", str(state_path),
                           "--units", str(scale - units)], timeout=1800, cwd=ROOT)
        units = scale
        result["units"][scale] = json.loads(grown.stdout.strip().splitlines()[-1])
        phases.end(row)
        state = json.loads(state_path.read_text())
        result["scales"][scale] = {"rows": table_sizes(url)}
        row = phases.start(f"{kind} statements at {scale}x")
        port = free_port()
        server = start_portal(state, port, work / f"portal-{kind}-off.log", args.redis_url, "0")
        try:
            result["scales"][scale]["pages"] = count_pages(f"http://127.0.0.1:{port}", args.redis_url, args.samples,
                                                           PAGES)
            if scale == scales[-1]:
                phases.end(row)
                row = phases.start(f"{kind} wrk at {scale}x")
                flush_redis(args.redis_url)
                on_port = free_port()
                on = start_portal(state, on_port, work / f"portal-{kind}-on.log", args.redis_url, None)
                ceil_port = free_port()
                ceiling = start_ceiling(python, ceil_port, work / "ceiling.log")
                try:
                    result["wrk_scale"] = scale
                    result["wrk"] = wrk_pages({"cache_on": f"http://127.0.0.1:{on_port}",
                                               "cache_off": f"http://127.0.0.1:{port}"},
                                              f"http://127.0.0.1:{ceil_port}/", args.wrk_seconds,
                                              args.connections, work / f"wrk-{kind}", wrk_pages_list)
                    result["portal_worker_rss_kb"] = worker_rss(on.proc.pid) + worker_rss(server.proc.pid)
                finally:
                    ceiling.stop()
                    on.stop()
        finally:
            server.stop()
        phases.end(row)
    result["state"] = str(state_path)
    return result


def worker_rss(master_pid: int) -> list[int]:
    out = []
    for child in Path("/proc").glob("[0-9]*"):
        try:
            status = (child / "status").read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{master_pid}$", status, re.M):
            m = re.search(r"VmRSS:\s+(\d+)", status)
            if m:
                out.append(int(m.group(1)))
    return out


def table_sizes(url: str) -> dict:
    tables = ("resource", "booking", "project", "campaign", "pledge", "idea", "mentor_profile", "search_document")
    out = {}
    for table in tables:
        try:
            if pdata.is_sqlite(url):
                import sqlite3
                from contextlib import closing

                with closing(sqlite3.connect(pdata.sqlite_path(url))) as conn:
                    out[table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            else:
                import psycopg

                with psycopg.connect(pdata.pg_conninfo(url)) as conn:
                    out[table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        except Exception:
            continue
    return out


# ---------------------------------------------------------------- booking creation vs NEMO

def book(session, base: str, resource_id: int, start: datetime) -> str:
    r = session.post(f"{base}/api/v1/resources/{resource_id}/bookings", timeout=60,
                     json={"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
                           "purpose": "bench"})
    if r.status_code == 201:
        return "ok"
    try:
        code = r.json()["error"]["code"]
    except Exception:
        code = "?"
    return f"{r.status_code} {code}"


def run_booking(args, work: Path, states: dict, phases: Phases) -> dict:
    import random

    peer_bench = Path(args.peer_bench).resolve()
    nemo_dir = Path(args.nemo_dir)
    row = phases.start("NEMO setup")
    run_quiet(["bash", str(peer_bench / "nemo_setup.sh")], timeout=900, cwd=peer_bench.parent,
              env=dict(os.environ, NEMO_PEER_DIR=str(nemo_dir)))
    phases.end(row)
    sys.path.insert(0, str(peer_bench))
    import nemo_bench as nb

    meta = json.loads((nemo_dir / "peer.json").read_text())
    nemo_env = dict(os.environ, PYTHONPATH=f"{nemo_dir / 'site'}{os.pathsep}{peer_bench}",
                    DJANGO_SETTINGS_MODULE=meta["settings_module"], PYTHONDONTWRITEBYTECODE="1")
    nb.reset_reservations(nemo_dir, nemo_env)
    rng = random.Random(1)
    day0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    slot = timedelta(minutes=30)
    tools = meta["tool_ids"]
    slots = {"nemo": [(t, day0 + i * slot) for t in tools for i in range(10 * 48)]}
    for name, st in states.items():
        marks = ",".join(["%s"] * len(st["resource_ids"]))
        db_execute(st["db"], f"DELETE FROM booking WHERE resource_id IN ({marks})", tuple(st["resource_ids"]))
        slots[name] = [(r, day0 + timedelta(days=d) + i * slot) for r in st["resource_ids"] for d in range(10)
                       for i in range(47)]  # 47 half hours: 23:30-24:00 would cross the 23:59 closing time
    for s in slots.values():
        rng.shuffle(s)
    flush_redis(args.redis_url)
    servers, bases = {}, {}
    out: dict = {"nemo_version": meta.get("nemo_version"), "clients": args.booking_clients,
                 "seconds": args.booking_seconds, "rounds": []}
    row = phases.start("booking creation vs NEMO")
    try:
        port = free_port()
        servers["nemo"] = Server([str(nemo_dir / "venv/bin/gunicorn"), "--workers", "2", "--bind",
                                  f"127.0.0.1:{port}", "--log-level", "warning", "nemo_wsgi:app"],
                                 f"http://127.0.0.1:{port}/login/", work / "nemo.log", env=nemo_env, cwd=nemo_dir)
        bases["nemo"] = f"http://127.0.0.1:{port}"
        for name, st in states.items():
            port = free_port()
            servers[name] = start_portal(st, port, work / f"portal-{name}-booking.log", args.redis_url, None)
            bases[name] = f"http://127.0.0.1:{port}"
        queries = {k: [] for k in bases}
        sessions = {"nemo": [nb.login(bases["nemo"], u, meta["password"]) for u in meta["users"]]}
        for name, st in states.items():
            sessions[name] = []
            for token in st["tokens"]:
                s = requests.Session()
                s.headers["Authorization"] = f"Bearer {token}"
                sessions[name].append(s)
        for name, group in sessions.items():
            for s in group:
                s.hooks["response"].append(lambda r, *a, _q=queries[name], **k: _q.append(
                    (r.status_code, int(r.headers.get("X-Queries", -1)), len(r.content))))

        def creator(name):
            def fn(i):
                try:
                    target, start = slots[name].pop()
                except IndexError:
                    return None
                s = sessions[name][i % len(sessions[name])]
                if name == "nemo":
                    return nb.create_reservation(s, bases["nemo"], target, start)
                return book(s, bases[name], target, start)
            return fn

        for name in bases:  # warm-up, dropped
            nb.run_load(creator(name), 4, 2)
        for rnd in range(1, args.booking_rounds + 1):
            for name in bases:
                queries[name].clear()
                load = load3()
                res = nb.run_load(creator(name), args.booking_clients, args.booking_seconds)
                res.pop("latency_ms_all", None)
                created = [q for q in queries[name] if q[0] == 201 or (q[0] == 200 and q[2] == 0)]
                if created and created[0][1] >= 0:
                    res["statements_per_create"] = round(sum(q[1] for q in created) / len(created), 1)
                out["rounds"].append({"round": rnd, "system": name, "loadavg": load, **res})
                progress("booking", f"round {rnd} {name}: {res['ok_per_s']}/s p50 {res['latency_ms_ok']['median']} ms"
                                    f" outcomes {res['outcomes']}")
    finally:
        for server in servers.values():
            server.stop()
        phases.end(row)
    summary = {}
    for name in bases:
        rates = [r["ok_per_s"] for r in out["rounds"] if r["system"] == name]
        summary[name] = {"per_round": rates, "median": statistics.median(rates) if rates else None}
    for name in states:
        ratios = [r / n for r, n in zip(summary[name]["per_round"], summary["nemo"]["per_round"], strict=False) if n]
        summary[name]["ratio_to_nemo_per_round"] = [round(x, 2) for x in ratios]
        summary[name]["ratio_to_nemo_median"] = round(statistics.median(ratios), 2) if ratios else None
    out["summary"] = summary
    return out


def db_execute(url: str, sql: str, params=()):
    if pdata.is_sqlite(url):
        import sqlite3
        from contextlib import closing

        with closing(sqlite3.connect(pdata.sqlite_path(url), timeout=60)) as conn:
            conn.execute(sql.replace("%s", "?"), params)
            conn.commit()
        return
    import psycopg

    with psycopg.connect(pdata.pg_conninfo(url), autocommit=True) as conn:
        conn.execute(sql, params)


# ---------------------------------------------------------------- search

SEARCH_ROW = re.compile(r"^\| (builtin-\S+|elasticsearch) \| ([\d,.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|")


def parse_search(text: str) -> list[dict]:
    rows = []
    for line in text.splitlines():
        m = SEARCH_ROW.match(line)
        if m:
            rows.append({"backend": m.group(1), "index_docs_per_s": m.group(2), "p50_ms": float(m.group(4)),
                         "p95_ms": float(m.group(5))})
    return rows


def run_search(args, work: Path, phases: Phases) -> dict:
    if args.skip_search:
        path = ROOT / "docs/benchmarks/search.md"
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        date = re.search(r"- Date: (.*)", text)
        command = re.search(r"- Command: `(.*)`", text)
        docs = re.search(r"--docs (\d+)", command.group(1)) if command else None
        return {"source": "docs/benchmarks/search.md (not rerun: --skip-search)", "rows": parse_search(text),
                "date": date.group(1) if date else None, "command": command.group(1) if command else None,
                "docs": int(docs.group(1)) if docs else None}
    row = phases.start("search")
    argv = [sys.executable, str(HERE / "search_bench.py"), "--docs", str(args.search_docs), "--rounds",
            str(args.search_rounds), "--backends", "builtin-sqlite,builtin-postgresql", "--pg-url", args.pg_url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=args.search_timeout, cwd=ROOT)
    (work / "search_bench.out").write_text(done.stdout + "\n" + done.stderr)
    phases.end(row)
    command = "python bench/search_bench.py " + " ".join(shlex.quote(a) for a in argv[2:])
    result = {"source": "this run", "command": command, "returncode": done.returncode, "docs": args.search_docs,
              "rows": parse_search(done.stdout), "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"}
    if done.returncode:
        result["error"] = done.stderr[-2000:]
    progress("search", " ".join(f"{r['backend']} p95 {r['p95_ms']} ms" for r in result["rows"]) or "no rows")
    return result


# ---------------------------------------------------------------- report

def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def render(data: dict) -> str:
    m = data["machine"]
    lines = [START, "", "## Platform benchmark (issue 13): pages vs the Flask ceiling, growth, booking vs NEMO, search",
             "", "Generated by `bench/platform_bench.py`; do not edit this section by hand (rerun the script). "
             "Raw figures: [benchmarks/platform.json](benchmarks/platform.json).", "",
             f"- Date: {data['date']} (run took {data['elapsed_s'] / 60:.1f} min)",
             f"- Machine: {m['nproc']} CPUs (nproc), {m['cpu']}, {m['ram_gib']} GiB RAM; {m['os']}",
             f"- Versions: Python {m['python']}, Flask {m['flask']}, Jinja {m['jinja2']}, Werkzeug {m['werkzeug']}, "
             f"gunicorn {m['gunicorn']}, SQLAlchemy {m['sqlalchemy']}, SQLite {m['sqlite']}, "
             f"PostgreSQL {m.get('postgresql', '–')}, {m.get('wrk') or 'wrk ?'}; portal at {m.get('git_commit')}"
             + (f" plus {m['git_dirty_app_files']} uncommitted app files" if m.get("git_dirty_app_files") else ""),
             f"- Command: `{data['command']}`",
             f"- Load average (1/5/15 min) at start {fmt_load(data['load_start'])}, at end {fmt_load(data['load_end'])}. "
             "The machine is shared: compare rows of one table (every page has its own ceiling runs "
             "just before and after it), not absolute numbers between runs.",
             f"- Servers: gunicorn 2 sync workers each (portal with `-c python:portal.gunicorn_conf`), "
             f"PORTAL_ENV=production, REDIS_URL db {data['redis_url'].rsplit('/', 1)[-1]}; portal wrapped by "
             "`bench/platform_wsgi.py` (X-Queries header). Ceiling: `bench/platform_ceiling.py`, one Jinja page over "
             "20 in-memory items, same Flask/Jinja/gunicorn. "
             f"wrk {data['wrk_connections']} connections, {data['wrk_seconds']} s per run, order ceiling, page (cache "
             "on), page (cache off), ceiling, …; ratio = page req/s ÷ mean of the ceiling runs before and after.",
             "- Statements: one request per page on the cache-off server right after a Redis flush (cold), at each "
             "scale; p50: single client, page cache off, warm. Scale = growth units of `bench/platform_data.py` "
             "(1 unit = 20 resources × 20 bookings, 40 users, 50 projects, 10 live campaigns × 10 pledges, "
             "2 mentors, 5 ideas; on top of `flask seed-demo`).",
             "- Targets (issue 13, point 2): home, detail pages and API lists ≥ 50% of the ceiling; list pages "
             "and search ≥ 30%. \"met\" is judged on the cache-on ratio; the cache-off column shows the work "
             "behind it.", ""]
    for db in data["databases"]:
        scales = sorted(db["scales"], key=int)
        top = db.get("wrk_scale", scales[-1])
        sizes = db["scales"][top].get("rows", {})
        lines += [f"### {'SQLite' if db['database'] == 'sqlite' else 'PostgreSQL'}", "",
                  f"At {top}x: " + ", ".join(f"{v:,} {k}" for k, v in sizes.items()) + ".", ""]
        lines += ["| page | path | statements " + "/".join(f"{s}x" for s in scales) + f" | p50 ms {top}x "
                  "| req/s (cache on) | req/s (cache off) | ceiling req/s | ratio cache on | ratio cache off "
                  "| target | met |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
        wrk_rows = db.get("wrk", {}).get("pages", {})
        for name, path, target in PAGES:
            counts = []
            for s in scales:
                p = db["scales"][s]["pages"].get(name, {})
                c = str(p.get("statements", "–"))
                if p.get("status") not in (200, None):
                    c += f" ({p['status']})"
                counts.append(c)
            p_top = db["scales"][top]["pages"].get(name, {})
            w = wrk_rows.get(name)
            if w:
                on, off = w.get("ratio_cache_on"), w.get("ratio_cache_off")
                need = int(target) / 100
                met = "met" if on is not None and on >= need else "**not met**"
                errs = [f"{w[k]['non_2xx']} non-2xx" for k in ("cache_on", "cache_off") if w[k]["non_2xx"]]
                cells = [f"{w['cache_on']['rps']:,.0f}", f"{w['cache_off']['rps']:,.0f}", f"{w['ceiling_rps']:,.0f}",
                         pct(on), pct(off), f"≥ {target}%", met + (f" ({', '.join(errs)})" if errs else "")]
            else:
                cells = ["–"] * 5 + ["statements only", ""]
            lines.append(f"| {name} | `{path}` | {' / '.join(counts)} | {p_top.get('p50_ms', '–')} | "
                         + " | ".join(cells) + " |")
        ceil = [c["rps"] for c in db.get("wrk", {}).get("ceiling_runs", [])]
        if ceil:
            met_on = sum(1 for n, _, t in PAGES if t and (wrk_rows.get(n, {}).get("ratio_cache_on") or 0) >= int(t) / 100)
            lines += ["", f"Ceiling runs: {min(ceil):,.0f}–{max(ceil):,.0f} req/s (median {statistics.median(ceil):,.0f}). "
                      f"Targets met with the cache on: {met_on} of {sum(1 for p in PAGES if p[2])}. "
                      f"Portal worker RSS after the run: {', '.join(str(k // 1024) + ' MB' for k in db.get('portal_worker_rss_kb', []))}."]
        lines.append("")
    lines += ["### Phases and load average", "", "| phase | start (s) | duration (s) | load at start | load at end |",
              "| --- | ---: | ---: | --- | --- |"]
    for p in data["phases"]:
        lines.append(f"| {p['phase']} | {p['start_s']:.0f} | {p.get('end_s', p['start_s']) - p['start_s']:.0f} | "
                     f"{fmt_load(p['load_start'])} | {fmt_load(p.get('load_end'))} |")
    lines.append("")
    booking = data.get("booking")
    lines += ["### Booking creation vs NEMO", ""]
    if booking and booking.get("summary"):
        s = booking["summary"]
        lines += [f"NEMO {booking.get('nemo_version')} (../shared/bench/nemo_setup.sh: SQLite, gunicorn 2 sync workers, "
                  "POST /create_reservation/) against our POST /api/v1/resources/{id}/bookings (bearer token), "
                  f"{booking['clients']} clients, {booking['seconds']} s per system per round, systems alternated "
                  "seconds apart (NEMO, ours SQLite, ours PostgreSQL); portal databases at the largest scale above. "
                  "Target (issue 13, point 4): at least 2× NEMO.", "",
                  "| system | bookings/s per round | median | ratio to NEMO (median) | statements per create |",
                  "| --- | --- | ---: | ---: | ---: |"]
        labels = {"nemo": "NEMO", "sqlite": "ours, SQLite", "postgresql": "ours, PostgreSQL"}
        for name, v in s.items():
            stm = [r.get("statements_per_create") for r in booking["rounds"] if r["system"] == name]
            stm = [x for x in stm if x is not None]
            ratio = v.get("ratio_to_nemo_median")
            lines.append(f"| {labels.get(name, name)} | {', '.join(f'{x:g}' for x in v['per_round'])} | "
                         f"{v['median']:g} | {'–' if name == 'nemo' else (f'{ratio:.2f}×' if ratio else '–')} | "
                         f"{statistics.median(stm) if stm else '–'} |")
        loads = [r["loadavg"][0] for r in booking["rounds"]]
        lines += ["", f"Load average (1 min) before the rounds: {min(loads):.1f}–{max(loads):.1f}.", ""]
    else:
        lines += ["Not run (" + (booking or {}).get("skipped", "--skip-nemo") + ").", ""]
    search = data.get("search") or {}
    lines += ["### Search p95 at 100k documents", ""]
    if search.get("rows"):
        lines += [f"From {search['source']}: `{search.get('command')}` ({search.get('date')}, "
                  f"{(search.get('docs') or 0):,} documents). Target (issue 13, point 3): p95 ≤ 30 ms.", "",
                  "| backend | p50 ms | p95 ms | target p95 ≤ 30 ms |", "| --- | ---: | ---: | --- |"]
        for r in search["rows"]:
            lines.append(f"| {r['backend']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                         f"{'met' if r['p95_ms'] <= 30 else '**not met**'} |")
        lines.append("")
    else:
        lines += ["Not available" + (f" ({search.get('error', '')[:200]})" if search.get("error") else "") + ".", ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def fmt_load(values) -> str:
    return "–" if not values else " / ".join(f"{v:.2f}" for v in values)


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section.rstrip("\n") + tail
    else:  # after the first table (its last row), or at the end
        lines = text.split("\n")
        idx, seen = len(lines), False
        for i, line in enumerate(lines):
            if line.startswith("|"):
                seen = True
            elif seen:
                idx = i
                break
        lines[idx:idx] = ["", section.rstrip("\n")]
        text = "\n".join(lines)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1x and 10x, SQLite only, 2 s wrk runs, no NEMO, no search")
    ap.add_argument("--write", help="markdown file whose platform-bench section is (re)written")
    ap.add_argument("--json", help="raw results (default docs/benchmarks/platform.json with --write)")
    ap.add_argument("--databases", help="sqlite,postgresql (quick: sqlite)")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/perf_pages")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/7", help="its db is flushed")
    ap.add_argument("--scales", help="growth units, comma-separated (default 1,10,100; quick 1,10)")
    ap.add_argument("--wrk-seconds", type=int, help="per wrk run (default 4; quick 2)")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--samples", type=int, help="single-client requests per page (default 10; quick 5)")
    ap.add_argument("--skip-nemo", action="store_true")
    ap.add_argument("--skip-search", action="store_true", help="read search p95 from docs/benchmarks/search.md")
    ap.add_argument("--search-docs", type=int, default=100_000)
    ap.add_argument("--search-rounds", type=int, default=3)
    ap.add_argument("--search-timeout", type=int, default=900)
    ap.add_argument("--peer-bench", default=str(ROOT.parent / "shared" / "bench"))
    ap.add_argument("--nemo-dir", default=os.path.join(tempfile.gettempdir(), "platform-bench-nemo"))
    ap.add_argument("--booking-clients", type=int, default=16)
    ap.add_argument("--booking-seconds", type=float, default=10)
    ap.add_argument("--booking-rounds", type=int, default=3)
    ap.add_argument("--workdir", help="keep logs, state and wrk output here (default: a temp dir)")
    ap.add_argument("--from-json", help="measure nothing: render the section again from a saved platform.json")
    args = ap.parse_args()
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        for db in data["databases"]:  # JSON object keys are strings
            db["scales"] = {int(k): v for k, v in db["scales"].items()}
        section = render(data)
        if args.write:
            write_section(Path(args.write), section)
        else:
            print(section)
        return
    args.databases = args.databases or ("sqlite" if args.quick else "sqlite,postgresql")
    args.scales = args.scales or ("1,10" if args.quick else "1,10,100")
    args.wrk_seconds = args.wrk_seconds or (2 if args.quick else 4)
    args.samples = args.samples or (5 if args.quick else 10)
    if args.quick:
        args.skip_nemo = True
        args.skip_search = True
    if args.write and not args.json:
        args.json = str(ROOT / "docs/benchmarks/platform.json")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt-get install wrk)")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="platform-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    progress("start", f"work dir {work}")
    flush_redis(args.redis_url)
    phases = Phases()
    kinds = args.databases.split(",")
    data: dict = {"date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                  "command": ".venv/bin/python bench/platform_bench.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
                  "machine": machine(args.pg_url if "postgresql" in kinds else None), "load_start": load3(),
                  "redis_url": args.redis_url, "wrk_seconds": args.wrk_seconds, "wrk_connections": args.connections,
                  "databases": [], "phases": phases.rows}
    states = {}
    for kind in kinds:
        url = f"sqlite:///{work / 'portal.sqlite3'}" if kind == "sqlite" else args.pg_url
        result = run_database(kind, url, args, work, phases)
        states[kind] = json.loads(Path(result["state"]).read_text())
        data["databases"].append(result)
        save(args, data, work)
    if args.skip_nemo:
        data["booking"] = {"skipped": "--quick" if args.quick else "--skip-nemo"}
    else:
        try:
            data["booking"] = run_booking(args, work, states, phases)
        except Exception as error:  # keep the rest of the run
            progress("booking", f"FAILED: {error}")
            data["booking"] = {"skipped": f"failed: {str(error)[:300]}"}
    save(args, data, work)
    data["search"] = run_search(args, work, phases)
    data["load_end"] = load3()
    data["elapsed_s"] = round(time.monotonic() - T0, 1)
    save(args, data, work)
    section = render(data)
    (work / "section.md").write_text(section, encoding="utf-8")
    if args.write:
        write_section(Path(args.write), section)
        progress("done", f"wrote {args.write} and {args.json}")
    else:
        print(section)
        progress("done", f"section in {work / 'section.md'}")


def save(args, data: dict, work: Path) -> None:
    text = json.dumps(data, indent=1, ensure_ascii=False, default=str)
    (work / "platform.json").write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
