"""Both languages ship complete: every extracted string has a zh_CN translation."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "portal" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def test_every_translatable_string_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-o", str(pot), "portal", "incubation", "resources", "funding"],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        template = read_po(handle)
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="zh_CN")
    missing, fuzzy = [], []
    for message in template:
        if not message.id:
            continue
        translated = catalogue.get(message.id)
        if translated is None or not translated.string or (isinstance(translated.string, tuple)
                                                           and not all(translated.string)):
            missing.append(message.id)
        elif translated.fuzzy:
            fuzzy.append(message.id)
    assert not missing, f"{len(missing)} strings lack a zh_CN translation (run scripts/translations): {missing[:10]}"
    assert not fuzzy, f"fuzzy translations need review: {fuzzy[:10]}"


def test_accept_language_picks_chinese(client):
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "登录" in page
    english = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Log in" in english


def test_switcher_sets_the_language_and_remembers_it_for_the_user(client, factories, login):
    user = login(factories.UserFactory(locale="en"))
    response = client.post("/language", data={"locale": "zh_CN", "next": "/dashboard"})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert user.locale == "zh_CN"
    assert '<html lang="zh-CN">' in client.get("/dashboard").get_data(as_text=True)
    assert client.post("/language", data={"locale": "fr"}).status_code == 302
    assert user.locale == "zh_CN"  # unsupported languages are ignored


def test_mail_goes_out_in_the_recipients_language(client, mail_outbox):
    client.post("/api/v1/auth/register", json={"email": "li@example.com", "password": "a-long-password",
                                               "name": "李", "roles": ["backer"], "locale": "zh_CN"})
    assert mail_outbox[-1]["Subject"] == "请确认您的邮箱地址"


def test_api_errors_follow_the_language(client):
    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert response.json["error"]["message"] != "We could not find what you were looking for."


def test_times_are_shown_without_seconds_in_both_languages(app):
    from datetime import UTC, datetime

    from flask_babel import force_locale

    from portal.templating import local_time

    moment = datetime(2026, 12, 1, 10, 7, 42, tzinfo=UTC)
    with app.test_request_context():
        with force_locale("en"):
            english = local_time(moment, "Asia/Shanghai")
        with force_locale("zh_Hans_CN"):
            chinese = local_time(moment, "Asia/Shanghai")
    assert english.startswith("Dec 1, 2026") and "6:07" in english and ":42" not in english
    assert chinese.startswith("2026年12月1日") and "18:07" in chinese and ":42" not in chinese
