"""A newcomer's first hour: the quickstart on another port, an install that is not repeated, a README
whose paths exist, and demo accounts whose addresses the mail forms accept (issue 12, point 9)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from portal.auth.services import get_user_by_email
from portal.demo import DEMO_PASSWORD, PEOPLE, seed_demo
from portal.extensions import db
from tests.conftest import link_in

ROOT = Path(__file__).resolve().parents[2]
MEDIA_TYPES = {"application", "text", "image", "multipart"}


def demo_addresses() -> list[str]:
    from funding.demo import CROWD

    return [email for _key, email, *_rest in PEOPLE] + [email for _key, email, *_rest in CROWD]


# ---- demo accounts on addresses the forms accept ----------------------------------------------------

def test_every_demo_address_passes_the_email_validator_as_the_forms_use_it():
    for email in demo_addresses():
        try:  # WTForms' Email() calls it like this: syntax and special-use domains, no DNS
            validate_email(email, check_deliverability=False)
        except EmailNotValidError as error:
            pytest.fail(f"{email}: {error}")
        assert email.endswith("@demo.example.com"), email


def test_forgot_password_mails_the_demo_founder_a_link_that_works(client, mail_outbox):
    seed_demo()
    founder = "founder@demo.example.com"
    response = client.post("/auth/forgot-password", data={"email": founder})
    assert response.status_code == 302, response.get_data(as_text=True)  # not the form again with an error
    resets = [m for m in mail_outbox if "/auth/reset-password/" in m.get_content()]  # (the demo mails too)
    assert [m["To"] for m in resets] == [founder]

    path = link_in(resets[0], "/auth/reset-password/")
    changed = client.post(path, data={"password": "a-new-demo-password", "confirm": "a-new-demo-password"})
    assert changed.status_code == 302 and changed.headers["Location"].endswith("/auth/login")
    assert client.post("/auth/login", data={"email": founder, "password": DEMO_PASSWORD}).status_code == 200
    assert client.post("/auth/login", data={"email": founder, "password": "a-new-demo-password"}).status_code == 302


def test_a_demo_company_owner_invites_a_demo_mentor_by_mail(client, login, mail_outbox):
    from portal.organisations.models import Organisation

    seed_demo()
    db.session.flush()
    owner = get_user_by_email("lab-manager@demo.example.com")
    haier = db.session.scalar(select(Organisation).where(Organisation.name.contains("Haier")))
    login(owner, DEMO_PASSWORD)
    response = client.post(f"/organisations/{haier.id}", data={"email": "anna@demo.example.com", "role": "member"})
    assert response.status_code == 302, response.get_data(as_text=True)  # not the form again with an error
    invitations = [m for m in mail_outbox if "/invitations/" in m.get_content()]
    assert [m["To"] for m in invitations] == ["anna@demo.example.com"]


# ---- quickstart and install script --------------------------------------------------------------------

def fake_project(tmp_path: Path) -> tuple[Path, Path, dict]:
    """A copy of the scripts and pyproject.toml with a fake virtual environment whose `python -m pip`,
    `pybabel` and `flask` only record their arguments (and PUBLIC_BASE_URL) in calls.log."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    for name in ("quickstart", "_install.sh"):
        shutil.copy2(ROOT / "scripts" / name, project / "scripts" / name)
    shutil.copy2(ROOT / "pyproject.toml", project / "pyproject.toml")
    venv = tmp_path / "venv"
    bin_dir = venv / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "calls.log"
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    (bin_dir / "python").write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "${{1:-}}" = "-m" ] && [ "${{2:-}}" = "pip" ]; then echo "pip $*" >> "{log}"; exit 0; fi\n'
        f'exec "{sys.executable}" "$@"\n')
    for tool in ("pybabel", "flask"):
        (bin_dir / tool).write_text(
            f'#!/usr/bin/env bash\necho "{tool} $* PUBLIC_BASE_URL=${{PUBLIC_BASE_URL:-}}" >> "{log}"\n')
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "PUBLIC_BASE_URL", "REINSTALL", "DATABASE_URL")}
    env["VENV"] = str(venv)
    env["PYTHONPATH"] = str(ROOT)  # the fake python stands for an installed portal
    return project, log, env


def run(command: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_the_install_is_skipped_while_pyproject_is_unchanged(tmp_path):
    project, log, env = fake_project(tmp_path)
    install = ["bash", "-c", ". scripts/_install.sh test"]

    first = run(install, project, env)
    assert first.returncode == 0, first.stderr
    assert "installing Python packages (with [test])" in first.stdout
    assert "pip -m pip --quiet --disable-pip-version-check install -e .[test]" in log.read_text()

    log.write_text("")
    again = run(install, project, env)
    assert again.returncode == 0, again.stderr
    assert "Python packages up to date (with [test])" in again.stdout
    assert "pip" not in log.read_text()  # no pip at all, not even the pip upgrade
    assert "pybabel compile" in log.read_text()  # catalogues are still compiled
    # The quickstart's plain install is covered by the one with the test extra.
    assert "up to date" in run(["bash", "-c", ". scripts/_install.sh"], project, env).stdout

    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n# a new dependency would change this file\n")
    changed = run(install, project, env)
    assert "installing Python packages" in changed.stdout and "install -e .[test]" in log.read_text()

    log.write_text("")
    forced = run(install, project, env | {"REINSTALL": "1"})
    assert "installing Python packages" in forced.stdout and "install -e .[test]" in log.read_text()


def test_a_failed_install_is_reported_and_not_stamped(tmp_path):
    project, log, env = fake_project(tmp_path)
    python = Path(env["VENV"]) / "bin" / "python"
    python.write_text(python.read_text().replace('exit 0; fi', 'echo "ERROR: no matching distribution" >&2; exit 1; fi'))
    failed = run(["bash", "-c", ". scripts/_install.sh test"], project, env)
    assert failed.returncode != 0 and "installation failed" in failed.stderr
    assert "no matching distribution" in failed.stdout + failed.stderr
    assert not (Path(env["VENV"]) / ".haichuang-install").exists()


def test_quickstart_serves_on_the_chosen_port_and_mail_links_follow_it(tmp_path):
    project, log, env = fake_project(tmp_path)
    started = run(["./scripts/quickstart"], project, env | {"PORT": "18181"})
    assert started.returncode == 0, started.stderr
    calls = log.read_text()
    assert "flask run --host 127.0.0.1 --port 18181 PUBLIC_BASE_URL=http://127.0.0.1:18181" in calls
    assert "http://127.0.0.1:18181" in started.stdout

    # An address of its own (a proxy, another host name) is kept, from the environment or from .env.
    log.write_text("")
    run(["./scripts/quickstart"], project, env | {"PORT": "18181", "PUBLIC_BASE_URL": "https://portal.example.com"})
    assert "--port 18181 PUBLIC_BASE_URL=https://portal.example.com" in log.read_text()
    log.write_text("")
    (project / ".env").write_text("PUBLIC_BASE_URL=https://dotenv.example.com\n")
    run(["./scripts/quickstart"], project, env | {"PORT": "18181"})
    assert "--port 18181 PUBLIC_BASE_URL=\n" in log.read_text()  # left for the portal to read from .env


def test_quickstart_defaults_to_5000_and_refuses_a_bad_port(tmp_path):
    project, log, env = fake_project(tmp_path)
    default = run(["./scripts/quickstart"], project, env)
    if default.returncode == 0:  # (unless something on this machine already listens on 5000)
        assert "--port 5000 PUBLIC_BASE_URL=http://127.0.0.1:5000" in log.read_text()
    else:
        assert "Port 5000 is already in use" in default.stderr and "PORT=8080" in default.stderr
    bad = run(["./scripts/quickstart"], project, env | {"PORT": "80a"})
    assert bad.returncode == 2 and "PORT must be a number" in bad.stderr


def test_quickstart_names_a_port_already_taken(tmp_path):
    import socket

    project, log, env = fake_project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["./scripts/quickstart"], project, env | {"PORT": str(port)})
    assert result.returncode == 1
    assert f"Port {port} is already in use" in result.stderr
    assert "flask run" not in log.read_text()


# ---- README and packaging -----------------------------------------------------------------------------

def test_readme_says_how_to_pick_the_port_and_lists_the_demo_logins():
    readme = (ROOT / "README.md").read_text()
    assert "PORT=8080 ./scripts/quickstart" in readme
    for email in (email for _key, email, *_rest in PEOPLE):
        assert f"`{email}`" in readme, email


def test_every_path_the_readme_names_exists():
    readme = (ROOT / "README.md").read_text()
    named = set()
    for code in re.findall(r"`([^`\s]+)`", readme):
        # repository paths: lower-case first segment (not a variable, header or media type), not ../
        if re.fullmatch(r"\.?[a-z_][a-z0-9_.-]*(/[\w.*-]*)+", code) and code.split("/")[0] not in MEDIA_TYPES:
            named.add(code)
    named |= set(re.findall(r"^([a-z_]+/)\s", readme, re.M))  # the layout block
    assert "portal/translations/zh_Hans_CN/LC_MESSAGES/messages.po" in named
    # What the portal creates when it first runs (the SQLite database and the uploads folder, in
    # instance/) is named too, but a fresh clone does not have it yet.
    created_at_run_time = {"instance/portal.sqlite3", "uploads/"}
    missing = [path for path in sorted(named - created_at_run_time) if not (ROOT / path.rstrip("/")).exists()]
    assert not missing, missing


def test_pyproject_uses_an_spdx_licence_and_lists_axe_for_the_browser_tests():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "AGPL-3.0-or-later"  # a PEP 639 SPDX expression, not a table
    assert not [c for c in project["project"].get("classifiers", []) if c.startswith("License ::")]
    assert any(req.startswith("axe-playwright-python") for req in project["project"]["optional-dependencies"]["test"])
    assert project["tool"]["setuptools"]["package-dir"] == {"": "."}
