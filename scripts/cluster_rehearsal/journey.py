"""The journey through the balancer: what a user, an operator and a settlement run do, checked step by step.

Each step passes or fails with a message; a step whose prerequisite failed is skipped. Every answer is
checked for a 5xx (none is ever acceptable) and for which app host served it (nginx's `X-Upstream`).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
import requests

from .mailsink import body_of
from .services import Cluster, ClusterError, tail

PASSWORD = "rehearsal-password-2026"
DEMO_PASSWORD = "demo-password-2026"
FOUNDER = "founder@demo.example.com"  # AirCare Tech: the live all-or-nothing campaign, project documents
SETTLE_RATE = 4.0  # provider calls per second, for both settle processes together
CONFIRM_LINK = re.compile(r"https?://\S+/auth/confirm/[^\s\"'<>]+")
# A small valid PDF (the portal checks uploads by their content).
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


class SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connect from another loopback address (a second client of the balancer)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class StepFailed(Exception):
    pass


@dataclass
class Outcome:
    name: str
    status: str  # passed, FAILED, skipped
    detail: str
    seconds: float


@dataclass
class Journey:
    cluster: Cluster
    say: Callable[[str], None]
    outcomes: list[Outcome] = field(default_factory=list)
    state: dict = field(default_factory=dict)
    upstreams: set[str] = field(default_factory=set)
    server_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http = requests.Session()
        self.base = self.cluster.balancer
        self.tag = f"{os.getpid()}-{int(time.time())}"

    # ---- plumbing ----------------------------------------------------------------------------------------------

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.status == "passed" for o in self.outcomes)

    def run(self) -> None:
        # (name, step, what it needs from earlier steps: keys of self.state they set once they passed)
        steps: list[tuple[str, Callable[[], str], tuple[str, ...]]] = [
            ("both hosts ready behind the balancer", self.step_ready, ()),
            ("register and confirm by mail", self.step_register, ()),
            ("NDA document: upload on one host, download from the other", self.step_document, ("token",)),
            ("search through osmem-server", self.step_search, ()),
            ("book a lab", self.step_booking, ("token",)),
            ("pledge to a campaign", self.step_pledge, ("token",)),
            ("settle from two processes at once: one charge per pledge", self.step_settle, ("pledge_id",)),
            ("settlement rate limit shared by both processes", self.step_settle_rate, ("provider_calls",)),
            ("request id and metrics", self.step_operations, ()),
            ("login budget shared across hosts, per client address", self.step_login_budget, ("token",)),
            ("Redis stopped mid-run, then back", self.step_redis_outage, ("token",)),
        ]
        for name, function, needs in steps:
            started = time.monotonic()
            missing = [need for need in needs if not self.state.get(need)]
            if missing:
                self.record(Outcome(name, "skipped", f"an earlier step failed (no {', '.join(missing)})", 0.0))
                continue
            self.say(f"step: {name}")
            try:
                detail = function()
                self.record(Outcome(name, "passed", detail or "", time.monotonic() - started))
            except (StepFailed, ClusterError, requests.RequestException, TimeoutError) as error:
                self.record(Outcome(name, "FAILED", str(error), time.monotonic() - started))

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        first, *rest = (outcome.detail or "").splitlines() or [""]
        mark = {"passed": "ok  ", "FAILED": "FAIL", "skipped": "skip"}[outcome.status]
        self.say(f"  {mark} {outcome.name} ({outcome.seconds:.1f} s){': ' + first if first else ''}")
        for line in rest:
            self.say(f"       {line}")

    def summary(self) -> None:
        self.say(f"summary (answers came from {len(self.upstreams)} app hosts: {', '.join(sorted(self.upstreams))}):")
        for outcome in self.outcomes:
            self.say(f"  {outcome.status:<7} {outcome.name}")
        if self.server_errors:
            self.say(f"  5xx answers seen: {len(self.server_errors)}")
            for line in self.server_errors[:10]:
                self.say(f"    {line}")

    def call(self, method: str, path: str, *, token: str | None = None, expect: tuple[int, ...] = (200,),
             **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        response = self.http.request(method, self.base + path, headers=headers, **kwargs)
        upstream = response.headers.get("X-Upstream", "")
        if upstream:
            self.upstreams.add(upstream)
        if response.status_code >= 500:
            line = f"{method} {path} -> {response.status_code} from {upstream or '?'}"
            self.server_errors.append(line)
            raise StepFailed(f"{line}: {response.text[:300].strip()}")
        if expect and response.status_code not in expect:
            raise StepFailed(f"{method} {path} -> {response.status_code} (expected {'/'.join(map(str, expect))}) "
                             f"from {upstream or '?'}: {response.text[:300].strip()}")
        return response

    def token(self, email: str, password: str) -> str:
        return self.call("POST", "/api/v1/auth/tokens", json={"email": email, "password": password,
                                                              "name": "rehearsal"}, expect=(201,)).json()["token"]

    # ---- steps -------------------------------------------------------------------------------------------------

    def step_ready(self) -> str:
        seen: dict[str, dict] = {}
        for _ in range(4):
            response = self.call("GET", "/readyz", expect=(200, 503))
            seen[response.headers.get("X-Upstream", "?")] = response.json()
        if len(seen) < self.cluster.hosts:
            raise StepFailed(f"round robin reached {sorted(seen)} only")
        problems = [f"{host}: {body}" for host, body in seen.items()
                    if body.get("status") != "ok" or any(v != "ok" for v in body.get("checks", {}).values())]
        if problems:
            raise StepFailed("not every check is ok:\n" + "\n".join(problems))
        return f"{len(seen)} hosts, every check ok: {next(iter(seen.values()))['checks']}"

    def step_register(self) -> str:
        email = f"rehearsal-{self.tag}@example.test"
        self.state["register_request_id"] = f"rehearsal-register-{self.tag}"
        self.call("POST", "/api/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                         "name": "Rehearsal Backer", "roles": ["backer"]},
                  headers={"X-Request-ID": self.state["register_request_id"]}, expect=(201,))
        mail = self.cluster.mail.wait_for(email, timeout=45)[-1]
        links = CONFIRM_LINK.findall(body_of(mail))
        if not links:
            raise StepFailed(f"no confirmation link in the mail: {body_of(mail)[:300]}")
        link = links[0]
        if not link.startswith(self.base + "/"):
            raise StepFailed(f"the link does not point at the balancer (PUBLIC_BASE_URL): {link}")
        self.call("GET", link[len(self.base):], expect=(200, 302, 303))
        rows = self.cluster.sql("SELECT confirmed_at FROM user_account WHERE email = %s", email)
        if not rows or rows[0][0] is None:
            raise StepFailed("the account is not confirmed after following the link")
        self.state["email"] = email
        self.state["token"] = self.token(email, PASSWORD)
        return f"{email}: mail via the worker and SMTP, link followed, confirmed"

    def step_document(self) -> str:
        founder = self.token(FOUNDER, DEMO_PASSWORD)
        self.state["founder_token"] = founder
        me = self.call("GET", "/api/v1/me", token=founder).json()
        startups = [o["id"] for o in me["organisations"] if o["kind"] == "startup"]
        projects = self.call("GET", "/api/v1/projects", token=founder, params={"per_page": 100}).json()["items"]
        mine = [p for p in projects if (p.get("organisation") or {}).get("id", p.get("organisation_id")) in startups]
        if not mine:
            raise StepFailed(f"the founder has no project (organisations {startups})")
        project_id = mine[0]["id"]
        self.call("PUT", f"/api/v1/projects/{project_id}/nda", token=founder,
                  json={"nda_text": f"Rehearsal NDA {self.tag}: keep the ventilator drawings confidential."})
        content = PDF + f"% rehearsal {self.tag}\n".encode()
        objects_before = set(self.cluster.s3_objects())
        upload = self.call("POST", f"/api/v1/projects/{project_id}/documents", token=founder, expect=(201,),
                           data={"title": f"Tooling drawings {self.tag}", "confidentiality": "nda"},
                           files={"file": ("drawings.pdf", content, "application/pdf")})
        uploaded_on = upload.headers.get("X-Upstream", "?")
        document = upload.json()
        backer = self.state["token"]
        self.call("GET", document["download_url"], token=backer, expect=(403,))  # not before the NDA
        nda = self.call("GET", f"/api/v1/projects/{project_id}/nda", token=backer).json()
        self.call("POST", f"/api/v1/projects/{project_id}/nda/acceptances", token=backer,
                  json={"version": nda["version"]}, expect=(201,))
        served_by = None
        for _ in range(2 * self.cluster.hosts):
            response = self.call("GET", document["download_url"], token=backer, expect=(200, 404))
            host = response.headers.get("X-Upstream", "?")
            if host == uploaded_on:
                continue
            if response.status_code == 404:
                raise StepFailed(f"uploaded on {uploaded_on}, the other host {host} answers 404 "
                                 "(the file is on the first host's disk: STORAGE_URL=s3://... not in effect)")
            if response.content != content:
                raise StepFailed(f"{host} served {len(response.content)} bytes that differ from the upload")
            served_by = host
            break
        if served_by is None:
            raise StepFailed(f"every download was served by {uploaded_on}: round robin did not alternate")
        new_objects = set(self.cluster.s3_objects()) - objects_before
        if not new_objects:
            raise StepFailed("no new object in the S3 bucket after the upload")
        local = [p for n in range(1, self.cluster.hosts + 1)
                 for p in (self.cluster.root / f"host{n}" / "uploads").rglob("*") if p.is_file()]
        if local:
            raise StepFailed(f"the upload was also written to a host's local disk: {local[:3]}")
        digest = hashlib.sha256(content).hexdigest()
        keyed = any(digest in key for key in new_objects)
        return (f"uploaded via {uploaded_on}, downloaded after the NDA via {served_by}; S3 object "
                f"{sorted(new_objects)[0]}{' (content-addressed)' if keyed else ''}")

    def step_search(self) -> str:
        response = self.call("GET", "/api/v1/search", params={"q": "Ventilator"})
        body = response.json()
        if not body.get("total"):
            raise StepFailed(f"no hit for 'Ventilator': {body}")
        ready = self.call("GET", "/readyz", expect=(200, 503)).json()
        if ready.get("checks", {}).get("search") != "ok":
            raise StepFailed(f"/readyz reports search {ready.get('checks', {}).get('search')!r} "
                             "(the Elasticsearch backend is not in use; hits came from elsewhere)")
        return f"{body['total']} hit(s) for 'Ventilator'; /readyz search ok"

    def step_booking(self) -> str:
        token = self.state["token"]
        resources = self.call("GET", "/api/v1/resources", token=token, params={"per_page": 100}).json()["items"]
        refusals = []
        now = datetime.now(UTC)
        for resource in resources:
            if resource.get("requires_qualification"):
                continue
            detail = self.call("GET", f"/api/v1/resources/{resource['id']}", token=token).json()
            minutes = int(detail.get("min_minutes") or 60)
            slots = self.call("GET", f"/api/v1/resources/{resource['id']}/availability", token=token, params={
                "from": (now + timedelta(days=2)).isoformat(), "to": (now + timedelta(days=16)).isoformat()}
            ).json().get("slots", [])
            for slot in slots:
                start = datetime.fromisoformat(slot["start"].replace("Z", "+00:00"))
                end = datetime.fromisoformat(slot["end"].replace("Z", "+00:00"))
                if (end - start) < timedelta(minutes=minutes):
                    continue
                body = {"start": start.isoformat(), "end": (start + timedelta(minutes=minutes)).isoformat(),
                        "purpose": f"Rehearsal {self.tag}"}
                if detail.get("terms_version"):
                    body["accept_terms_version"] = detail["terms_version"]
                response = self.call("POST", f"/api/v1/resources/{resource['id']}/bookings", token=token, json=body,
                                     expect=(201, 400, 403, 409))
                if response.status_code == 201:
                    booking = response.json()
                    again = self.call("POST", f"/api/v1/resources/{resource['id']}/bookings", token=token,
                                      json=body, expect=(409,))
                    return (f"{resource['name']}: booking {booking['id']} {booking['status']} via "
                            f"{response.headers.get('X-Upstream')}; the same slot again -> 409 via "
                            f"{again.headers.get('X-Upstream')}")
                refusals.append(f"{resource['id']}: {response.status_code} {response.text[:160]}")
                break
        raise StepFailed("no bookable resource accepted a booking:\n" + "\n".join(refusals[:5]))

    def step_pledge(self) -> str:
        token = self.state["token"]
        campaigns = self.call("GET", "/api/v1/campaigns", token=token, params={"status": "live"}).json()["items"]
        if not campaigns:
            raise StepFailed("no live campaign in the demo data")
        campaign = self.call("GET", f"/api/v1/campaigns/{campaigns[0]['id']}", token=token).json()
        # Pledge what is missing so the all-or-nothing goal is met and settlement charges every pledge.
        missing = max(campaign["goal"]["amount"] - campaign["pledged"]["amount"], 100)
        pledge = self.call("POST", f"/api/v1/campaigns/{campaign['id']}/pledges", token=token, expect=(201,),
                           json={"amount": missing, "payment_method": "4242424242424242"}).json()
        self.state["campaign_id"] = campaign["id"]
        self.state["pledge_id"] = pledge["id"]
        return f"pledge {pledge['id']} of {missing / 100:.2f} {campaign['goal']['currency']} ({pledge['status']}) " \
               f"to campaign {campaign['id']}, goal now met"

    def step_settle(self) -> str:
        campaign_id = self.state["campaign_id"]
        args = ["funding", "settle", "--campaign", str(campaign_id), "--rate", str(SETTLE_RATE)]
        # Both processes start charging at the same moment: they wait for the campaign's row lock (settlement
        # closes the campaign under FOR UPDATE) while this connection holds it, and go once both wait.
        with psycopg.connect(self.cluster.database_url, connect_timeout=5) as hold:
            hold.execute("SELECT id FROM campaign WHERE id = %s FOR UPDATE", (campaign_id,))
            calls = self.cluster.root / "provider-calls.log"
            runs = [self.cluster.start_flask(f"settle{n}", args, charge_log=calls) for n in (1, 2)]
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and self.waiting_on_campaign() < 2:
                if any(not run.running() for run in runs):
                    break
                time.sleep(0.2)
            waited = self.waiting_on_campaign()
            hold.rollback()
        if waited < 2:
            raise StepFailed(f"only {waited} settle process(es) reached the campaign lock within 90 s:\n"
                             + "\n".join(tail(run.log, 10) for run in runs))
        started = time.monotonic()
        problems = []
        for run in runs:
            try:
                code = run.popen.wait(120)
            except subprocess.TimeoutExpired:
                run.stop()
                code = "timeout"
            if code != 0:
                problems.append(f"{run.name} exited with {code}:\n{tail(run.log, 15)}")
        elapsed = time.monotonic() - started
        if problems:
            raise StepFailed("\n".join(problems))
        rows = self.cluster.sql(
            """SELECT p.id, p.status,
                      count(a.id) FILTER (WHERE a.idempotency_key NOT LIKE 'pledge-%%-refund-%%'),
                      count(a.id) FILTER (WHERE a.status = 'succeeded'
                                          AND a.idempotency_key NOT LIKE 'pledge-%%-refund-%%'),
                      (SELECT count(*) FROM ledger_entry l WHERE l.pledge_id = p.id AND l.kind = 'collected')
                 FROM pledge p LEFT JOIN payment_attempt a ON a.pledge_id = p.id
                WHERE p.campaign_id = %s AND p.status <> 'cancelled'
                GROUP BY p.id, p.status ORDER BY p.id""", campaign_id)
        if not rows:
            raise StepFailed("the campaign has no pledges")
        self.state["provider_calls"] = [(float(at), int(pid), key) for at, pid, key in
                                        (line.split() for line in calls.read_text().splitlines())] \
            if calls.exists() else []
        intents = self.provider_intents([row[0] for row in rows])
        wrong = [f"pledge {pid}: {status}, {attempts} attempt(s), {succeeded} succeeded, {collected} collected"
                 for pid, status, attempts, succeeded, collected in rows
                 if (status, attempts, succeeded, collected) != ("collected", 1, 1, 1)]
        if wrong:
            raise StepFailed("not exactly one charge per pledge in the portal's records:\n" + "\n".join(wrong))
        pledge = self.call("GET", f"/api/v1/pledges/{self.state['pledge_id']}", token=self.state["token"]).json()
        if pledge["status"] != "collected":
            raise StepFailed(f"GET /api/v1/pledges/{pledge['id']} says {pledge['status']}")
        expected = self.cluster.sql("SELECT sum(amount + shipping_fee) FROM pledge WHERE campaign_id = %s "
                                    "AND status = 'collected'", campaign_id)[0][0]
        ledger = self.call("GET", f"/api/v1/campaigns/{campaign_id}/ledger").json()
        if ledger["collected"]["amount"] != expected:
            raise StepFailed(f"the public ledger says {ledger['collected']['amount']} collected, the pledges {expected}")
        if intents is None:
            raise StepFailed("no funding_sandbox_object table: the sandbox keeps its PaymentIntents in each "
                             "process's memory, so a charge sent by both processes cannot be seen (issue 11, point 7)")
        wrong = [f"pledge {p}: {intents.get(p, (0,))[0]} PaymentIntent(s)" for p, *_ in rows
                 if intents.get(p, (0,))[0] != 1]
        if wrong:
            raise StepFailed("the provider was not asked exactly once per pledge:\n" + "\n".join(wrong))
        return (f"{len(rows)} pledges, each collected with one charge attempt, one ledger entry and one sandbox "
                f"PaymentIntent; the public ledger shows {expected / 100:.2f} {ledger['currency']} collected "
                f"({elapsed:.1f} s for both processes)")

    def waiting_on_campaign(self) -> int:
        """Backends waiting for a row lock in a statement on the campaign table (the settle processes)."""
        return self.cluster.sql(
            """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                  AND query ILIKE '%%FROM campaign%%FOR UPDATE%%'""")[0][0]

    def provider_intents(self, pledge_ids: list[int]) -> dict[int, tuple[int, datetime]] | None:
        """The sandbox provider's PaymentIntents per pledge: (count, first one's time); None without its table."""
        if not self.cluster.sql("SELECT to_regclass('public.funding_sandbox_object') IS NOT NULL")[0][0]:
            return None
        intents = self.cluster.sql(
            """SELECT split_part(idempotency_key, '-', 2)::int AS pledge, count(*), min(created_at)
                 FROM funding_sandbox_object
                WHERE kind = 'payment_intent' AND idempotency_key LIKE 'pledge-%%-attempt-%%'
                  AND split_part(idempotency_key, '-', 2)::int = ANY(%s)
                GROUP BY 1""", pledge_ids)
        return {pledge: (count, at) for pledge, count, at in intents}

    def step_settle_rate(self) -> str:
        calls = sorted(self.state["provider_calls"])
        if len(calls) < 3:
            raise StepFailed(f"only {len(calls)} provider calls: too few to measure a rate")
        times = [at for at, _pid, _key in calls]
        per_process = sorted(Counter(pid for _at, pid, _key in calls).values(), reverse=True)
        resent = len(calls) - len({key for _at, _pid, key in calls})
        span = times[-1] - times[0]
        needed = (len(times) - 1) / SETTLE_RATE
        # The busiest two seconds: evenly spaced calls put 2 x SETTLE_RATE in them (two more for a late call);
        # two processes with a limit each put up to twice as many.
        busiest = max(sum(1 for t in times if 0 <= t - start < 2.0) for start in times)
        allowed = 2 * SETTLE_RATE + 2
        seen = (f"{len(calls)} provider calls ({' + '.join(map(str, per_process))} by the two processes, {resent} "
                f"re-sent with the same key) over {span:.2f} s, at most {busiest} in any 2 s")
        if span < 0.8 * needed or busiest > allowed:
            raise StepFailed(f"{seen}; at --rate {SETTLE_RATE:g} for both together that takes at least {needed:.2f} s "
                             f"with at most {allowed:g} in any 2 s (per-process limits?)")
        return f"{seen} (--rate {SETTLE_RATE:g} for both processes together)"

    def step_operations(self) -> str:
        request_id = f"rehearsal-health-{self.tag}"
        response = self.call("GET", "/api/v1/campaigns", headers={"X-Request-ID": request_id})
        returned = response.headers.get("X-Request-ID")
        problems = []
        if returned != request_id:
            problems.append(f"X-Request-ID {returned!r} on the answer, {request_id!r} sent")
        host = next((n for n in range(1, self.cluster.hosts + 1)
                     if response.headers.get("X-Upstream") == self.cluster.host_url(n).split("//")[1]), None)
        time.sleep(0.5)
        log = self.cluster.services[f"host{host}"].log.read_text(errors="replace") if host else ""
        lines = [line for line in log.splitlines() if request_id in line]
        if not lines:
            problems.append(f"no line of host {host}'s log carries the request id")
        elif not all(line.lstrip().startswith("{") for line in lines):
            problems.append(f"host {host}'s log lines are not JSON: {lines[0][:160]}")
        register_id = self.state.get("register_request_id")
        if register_id and register_id not in self.cluster.services["worker"].log.read_text(errors="replace"):
            problems.append("the registration's request id is not in the worker's log (not carried into its mail job)")
        anonymous = self.call("GET", "/metrics", expect=(200, 401, 403, 404))
        if anonymous.status_code == 200:
            problems.append("/metrics answers without a token")
        metrics = self.call("GET", "/metrics", expect=(200, 401, 403, 404),
                            headers={"Authorization": f"Bearer {self.cluster.env['METRICS_TOKEN']}"})
        if metrics.status_code != 200:
            problems.append(f"/metrics with METRICS_TOKEN -> {metrics.status_code}")
        elif "_bucket{" not in metrics.text:
            problems.append("/metrics shows no latency histogram")
        if problems:
            raise StepFailed("\n".join(problems))
        families = sorted({line.split()[2] for line in metrics.text.splitlines() if line.startswith("# TYPE")})
        return (f"X-Request-ID echoed and on host {host}'s JSON log line; the registration's id in the worker's log; "
                f"/metrics {anonymous.status_code} without the token, 200 with it: {', '.join(families)[:300]}")

    def limiter_keys(self) -> list[bytes]:
        return list(self.cluster.redis().scan_iter(match="LIMIT*", count=1000))

    def step_login_budget(self) -> str:
        redis = self.cluster.redis()
        for key in self.limiter_keys():  # start from a full budget (earlier steps logged in)
            redis.delete(key)
        limit = self.cluster.login_limit
        hosts = []
        for attempt in range(1, limit + 1):
            response = self.call("POST", "/api/v1/auth/tokens", json={"email": self.state["email"],
                                                                      "password": "wrong-password-123"},
                                 expect=(401, 429))
            if response.status_code == 429:
                raise StepFailed(f"429 already at attempt {attempt} of a budget of {limit}")
            hosts.append(response.headers.get("X-Upstream", "?"))
        refused = self.call("POST", "/api/v1/auth/tokens", json={"email": self.state["email"], "password": PASSWORD},
                            expect=(429, 201))
        if refused.status_code != 429:
            raise StepFailed(f"{limit} bad logins over {sorted(set(hosts))} did not use up the budget of {limit}: "
                             "the next login was accepted (per-process or per-host limits?)")
        if len(set(hosts)) < 2:
            raise StepFailed(f"every bad login went to {hosts[0]}: nothing shows the budget is shared")
        # Another client (from 127.0.0.2, through the same balancer) has a budget of its own, and the audit row of
        # its login names its address, not the balancer's (TRUSTED_PROXIES=1 behind nginx).
        other = requests.Session()
        other.mount("http://", SourceAddressAdapter("127.0.0.2"))
        response = other.post(f"{self.base}/api/v1/auth/tokens", timeout=30,
                              json={"email": self.state["email"], "password": PASSWORD, "name": "other client"})
        if response.status_code != 201:
            raise StepFailed(f"a login from another client address -> {response.status_code}: the budget is the "
                             f"balancer's, not the client's ({response.text[:200].strip()})")
        ips = self.cluster.sql("SELECT ip FROM audit_event WHERE action = 'api_token.created' AND object_id = %s",
                               str(response.json()["id"]))
        if [row[0] for row in ips] != ["127.0.0.2"]:
            raise StepFailed(f"the audit row of a login from 127.0.0.2 records {ips}")
        for key in self.limiter_keys():  # later steps log in again
            redis.delete(key)
        return (f"{limit} bad logins spread over {len(set(hosts))} hosts, then 429 "
                f"(Retry-After {refused.headers.get('Retry-After', '?')}) even with the right password; another "
                "client address still logs in, and its audit row records that address")

    def step_redis_outage(self) -> str:
        token = self.state["token"]
        founder = self.state.get("founder_token") or self.token(FOUNDER, DEMO_PASSWORD)
        resource_id = self.call("GET", "/api/v1/resources", token=token).json()["items"][0]["id"]
        self.cluster.supervise_worker()
        self.cluster.stop_redis()
        self.say("  Redis stopped")
        email = f"rehearsal-outage-{self.tag}@example.test"
        problem = f"Rehearsal {self.tag}: the fume hood alarm beeps during the outage"
        problems: list[str] = []
        hosts: set[str] = set()
        registered = reported = False

        def attempt(method: str, path: str, expect: tuple[int, ...], **kwargs) -> requests.Response | None:
            try:
                response = self.call(method, path, expect=expect, **kwargs)
            except StepFailed as error:
                problems.append(str(error))
                return None
            hosts.add(response.headers.get("X-Upstream", "?"))
            return response

        try:
            for path in ("/healthz", "/", "/api/v1/campaigns", "/api/v1/resources"):
                attempt("GET", path, (200,))
            ready = attempt("GET", "/readyz", (200,))
            if ready is not None and (ready.json().get("status"), ready.json().get("checks", {}).get("redis")) \
                    != ("degraded", "down"):
                problems.append(f"/readyz while Redis is down: {ready.json()}")
            attempt("POST", "/api/v1/auth/tokens", (401,),
                    json={"email": self.state["email"], "password": "wrong-password-123"})
            attempt("POST", "/api/v1/auth/tokens", (201,), json={"email": FOUNDER, "password": DEMO_PASSWORD})
            registered = attempt("POST", "/api/v1/auth/register", (201,), json={
                "email": email, "password": PASSWORD, "name": "Outage Backer", "roles": ["backer"]}) is not None
            reported = attempt("POST", f"/api/v1/resources/{resource_id}/problems", (201,), token=token,
                               json={"description": problem}) is not None
            attempt("GET", "/api/v1/me", (200,), token=founder)
            outbox = self.outbox_rows()
        finally:
            self.cluster.start_redis()
            self.say(f"  Redis restarted (answers without Redis came from {sorted(hosts)})")
        stored = self.cluster.sql("SELECT count(*) FROM resource_problem_report WHERE description = %s", problem)[0][0]
        if reported and stored != 1:
            problems.append(f"{stored} problem reports stored for one POST")
        elif not reported and stored:
            problems.append("the problem report was stored although its POST failed (a retry would duplicate it)")
        arrived = None
        if registered:
            started = time.monotonic()
            try:
                self.cluster.mail.wait_for(email, timeout=90)
                arrived = time.monotonic() - started
                time.sleep(3)  # a second delivery of the same job would come soon after
                if len(self.cluster.mail.to(email)) != 1:
                    problems.append(f"the confirmation mail arrived {len(self.cluster.mail.to(email))} times")
            except TimeoutError as error:
                problems.append(f"the confirmation mail queued while Redis was down never arrived: {error}")
        if problems:
            raise StepFailed("\n".join(problems))
        return (f"requests answered by {len(hosts)} hosts without Redis, no 5xx, one problem report stored, "
                f"{outbox} meanwhile; the confirmation mail queued meanwhile arrived once, "
                f"{arrived:.0f} s after Redis returned"
                + (f"; the RQ worker exited and was restarted {self.cluster.worker_restarts} time(s)"
                   if self.cluster.worker_restarts else ""))

    def outbox_rows(self) -> str:
        exists = self.cluster.sql("SELECT to_regclass('public.job_outbox') IS NOT NULL")[0][0]
        if not exists:
            return "no job_outbox table"
        waiting = self.cluster.sql("SELECT count(*) FROM job_outbox WHERE delivered_at IS NULL")[0][0]
        return f"{waiting} job(s) waiting in job_outbox"
