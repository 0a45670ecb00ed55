"""Elasticsearch from the environment (issue 11, point 8): several nodes, API key or basic auth, a CA
certificate, timeouts and retries, and the plain-JSON switch, checked at start-up and on the wire."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.config import ConfigError, load_config, validate_config
from portal.redaction import SecretRedactingFilter
from portal.search.elastic import ElasticsearchBackend, PlainJsonNode
from portal.search.interfaces import SearchUnavailable
from portal.search.settings import SettingsError, parse_settings

SECRET = "s3cr3t-pa55word"


def settings(**values):
    return parse_settings({"ELASTICSEARCH_TIMEOUT": 5, **values})


# ---- parsing ------------------------------------------------------------------------------------


def test_several_nodes_are_read_from_one_comma_separated_url():
    parsed = settings(ELASTICSEARCH_URL="https://es1.internal:9200, https://es2.internal:9243,http://es3")
    assert parsed.hosts == ("https://es1.internal:9200", "https://es2.internal:9243", "http://es3:80")
    client = ElasticsearchBackend(parsed).client
    assert sorted(node.config.host for node in client.transport.node_pool.all()) == [
        "es1.internal", "es2.internal", "es3"]


def test_credentials_in_the_url_become_basic_auth_and_leave_the_hosts():
    parsed = settings(ELASTICSEARCH_URL=f"https://portal:{SECRET}@es1:9200,https://portal:{SECRET}@es2:9200")
    assert parsed.basic_auth == ("portal", SECRET)
    assert parsed.hosts == ("https://es1:9200", "https://es2:9200")
    assert SECRET not in parsed.describe()


def test_username_and_password_settings_override_the_url():
    parsed = settings(ELASTICSEARCH_URL="http://old:old@es:9200", ELASTICSEARCH_USERNAME="portal",
                      ELASTICSEARCH_PASSWORD=SECRET)
    assert parsed.basic_auth == ("portal", SECRET)


def test_an_api_key_in_either_form():
    assert settings(ELASTICSEARCH_URL="http://es:9200", ELASTICSEARCH_API_KEY="VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==").api_key
    backend = ElasticsearchBackend(settings(ELASTICSEARCH_URL="http://es:9200", ELASTICSEARCH_API_KEY="id1:key1"))
    assert backend.client._headers["authorization"].startswith("ApiKey ")


def test_timeouts_retries_and_the_switch():
    parsed = settings(ELASTICSEARCH_URL="http://es:9200", ELASTICSEARCH_TIMEOUT=2, ELASTICSEARCH_MAX_RETRIES=3,
                      ELASTICSEARCH_RETRY_ON_TIMEOUT="true", ELASTICSEARCH_COMPAT_HEADERS="false")
    assert (parsed.timeout, parsed.max_retries, parsed.retry_on_timeout, parsed.compat_headers) == (2, 3, True, False)
    client = ElasticsearchBackend(parsed).client
    assert isinstance(client.transport.node_pool.all()[0], PlainJsonNode)
    assert client._max_retries == 3 and client._retry_on_timeout is True and client._request_timeout == 2
    assert settings(ELASTICSEARCH_URL="http://es:9200").compat_headers is True


def test_a_ca_certificate_is_given_to_every_https_node(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(_self_signed_ca())
    client = ElasticsearchBackend(settings(ELASTICSEARCH_URL="https://es1:9200,https://es2:9200",
                                           ELASTICSEARCH_CA_CERTS=str(ca))).client
    assert [node.config.ca_certs for node in client.transport.node_pool.all()] == [str(ca), str(ca)]


@pytest.mark.parametrize(("values", "named"), [
    ({"ELASTICSEARCH_URL": "es1:9200"}, "ELASTICSEARCH_URL"),
    ({"ELASTICSEARCH_URL": "ftp://es1"}, "ELASTICSEARCH_URL"),
    ({"ELASTICSEARCH_URL": "http://es1:99999"}, "ELASTICSEARCH_URL"),
    ({"ELASTICSEARCH_URL": "http://es1:9200,,http://es2:9200"}, "empty entry"),
    ({"ELASTICSEARCH_URL": "http://a:b@es1:9200,http://c:d@es2:9200"}, "different credentials"),
    ({"ELASTICSEARCH_URL": "http://es1:9200", "ELASTICSEARCH_USERNAME": "portal"}, "ELASTICSEARCH_PASSWORD"),
    ({"ELASTICSEARCH_URL": "http://u:p@es1:9200", "ELASTICSEARCH_API_KEY": "k"}, "exclusive"),
    ({"ELASTICSEARCH_URL": "https://es1", "ELASTICSEARCH_CA_CERTS": "/nonexistent/ca.pem"}, "ELASTICSEARCH_CA_CERTS"),
    ({"ELASTICSEARCH_URL": "http://es1:9200", "ELASTICSEARCH_MAX_RETRIES": 50}, "ELASTICSEARCH_MAX_RETRIES"),
    ({"ELASTICSEARCH_URL": "http://es1:9200", "ELASTICSEARCH_COMPAT_HEADERS": "nope"}, "ELASTICSEARCH_COMPAT_HEADERS"),
])
def test_bad_settings_are_refused_naming_the_setting(values, named):
    with pytest.raises(SettingsError) as refused:
        settings(**values)
    assert named in str(refused.value)


def test_start_up_refuses_a_bad_url_without_showing_its_password(tmp_path):
    config = load_config(str(tmp_path), {"ELASTICSEARCH_URL": f"https://portal:{SECRET}@es1:9200,es2:9200",
                                         "ELASTICSEARCH_COMPAT_HEADERS": "maybe"})
    with pytest.raises(ConfigError) as refused:
        validate_config(config)
    message = str(refused.value)
    assert "ELASTICSEARCH_URL entry 'es2:9200'" in message and "ELASTICSEARCH_COMPAT_HEADERS" in message
    assert SECRET not in message


def test_start_up_reads_the_environment(tmp_path):
    config = load_config(str(tmp_path), {
        "ELASTICSEARCH_URL": "https://es1:9200,https://es2:9200", "ELASTICSEARCH_API_KEY": "id:key",
        "ELASTICSEARCH_MAX_RETRIES": "2", "ELASTICSEARCH_COMPAT_HEADERS": "false"})
    validate_config(config)
    parsed = parse_settings(config)
    assert parsed.hosts == ("https://es1:9200", "https://es2:9200") and parsed.api_key == "id:key"
    assert parsed.max_retries == 2 and parsed.compat_headers is False


def test_secrets_of_every_node_are_redacted_from_logs():
    redactor = SecretRedactingFilter.from_config({
        "ELASTICSEARCH_URL": "https://a:first-secret@es1:9200,https://a:second-secret@es2:9200",
        "ELASTICSEARCH_API_KEY": "the-api-key-value", "ELASTICSEARCH_PASSWORD": "the-password"})
    text = redactor.redact("first-secret second-secret the-api-key-value the-password")
    assert "secret" not in text and "value" not in text and "password" not in text


# ---- on the wire ----------------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps({"version": {"number": "8.19.0"}, "tagline": "You Know, for Search"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("compat", "media_type"), [
    ("true", "application/vnd.elasticsearch+json; compatible-with=8"), ("false", "application/json")])
def test_the_switch_decides_the_media_type_sent(recorder, compat, media_type):
    url, seen = recorder
    ElasticsearchBackend(settings(ELASTICSEARCH_URL=url, ELASTICSEARCH_COMPAT_HEADERS=compat)).client.indices.create(
        index="x", mappings={"properties": {}})
    assert seen[-1]["accept"] == media_type and seen[-1]["content-type"] == media_type


def test_basic_auth_and_api_key_reach_the_server_and_not_the_log(recorder, caplog):
    url, seen = recorder
    caplog.set_level(logging.DEBUG)
    host = url.removeprefix("http://")
    ElasticsearchBackend(settings(ELASTICSEARCH_URL=f"http://portal:{SECRET}@{host}")).client.info()
    ElasticsearchBackend(settings(ELASTICSEARCH_URL=url, ELASTICSEARCH_API_KEY="key-id:key-secret")).client.info()
    assert seen[0]["authorization"].startswith("Basic ") and seen[1]["authorization"].startswith("ApiKey ")
    assert SECRET not in caplog.text and "key-secret" not in caplog.text


def test_osmem_needs_the_switch_and_works_with_it(osmem_server):
    clone = osmem_server.clone()
    try:
        with pytest.raises(SearchUnavailable, match="406"):  # refused: the versioned media type with a body
            ElasticsearchBackend(settings(ELASTICSEARCH_URL=clone.url)).ensure_index()
        backend = ElasticsearchBackend(settings(ELASTICSEARCH_URL=clone.url, ELASTICSEARCH_COMPAT_HEADERS="false"))
        backend.ensure_index()
        assert backend.current_indices() == ["portal-search-initial"]
    finally:
        clone.close()


def test_a_dead_node_is_skipped_for_a_live_one(osmem_server):
    clone = osmem_server.clone()
    try:
        backend = ElasticsearchBackend(settings(
            ELASTICSEARCH_URL=f"http://127.0.0.1:9,{clone.url}", ELASTICSEARCH_COMPAT_HEADERS="false",
            ELASTICSEARCH_MAX_RETRIES=2, ELASTICSEARCH_TIMEOUT=2))
        for _ in range(4):  # whichever node the pool picks first, every call lands on the live one
            backend._ready = False
            backend.ensure_index()
    finally:
        clone.close()


def _self_signed_ca() -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal test CA")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM)
