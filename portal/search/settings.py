"""Elasticsearch connection settings, read from the configuration and checked at start-up.

- `ELASTICSEARCH_URL`: one node or several, comma-separated (`https://es1:9200,https://es2:9200`); the
  client spreads requests over them and retries another node when one fails. Credentials may sit in
  the URL (`https://user:password@es1:9200`), the same on every node that carries them.
- `ELASTICSEARCH_API_KEY` (the base64 "encoded" key, or `id:api_key`), or basic auth through
  `ELASTICSEARCH_USERNAME` / `ELASTICSEARCH_PASSWORD` (they override credentials in the URL). An API
  key and basic auth together are refused: the server would see one and ignore the other.
- `ELASTICSEARCH_CA_CERTS`: a PEM file of the certificate authority that signed the cluster's
  certificate (https nodes are always verified; without it, the system's trust store).
- `ELASTICSEARCH_TIMEOUT` (seconds per request), `ELASTICSEARCH_MAX_RETRIES` (other nodes tried after
  a connection error or a 502/503/504), `ELASTICSEARCH_RETRY_ON_TIMEOUT`.
- `ELASTICSEARCH_COMPAT_HEADERS` (true by default): the official 8.x client sends the versioned media
  type `application/vnd.elasticsearch+json; compatible-with=8`, which Elasticsearch 8 and 9 expect.
  Servers that only speak plain JSON (osmem-server, some older or "compatible" servers) answer 406 to
  it: set `false` and the client sends `application/json` (`application/x-ndjson` for bulk) instead.

Nothing here logs or returns a secret: `describe()` and the error messages show hosts only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SECRET_SETTINGS = ("ELASTICSEARCH_API_KEY", "ELASTICSEARCH_PASSWORD")


class SettingsError(ValueError):
    """The Elasticsearch settings cannot work; `problems` names each setting at fault."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ElasticsearchSettings:
    hosts: tuple[str, ...]  # URLs without credentials
    api_key: str | None = None
    basic_auth: tuple[str, str] | None = None
    ca_certs: str | None = None
    timeout: float = 5.0
    max_retries: int = 1
    retry_on_timeout: bool = False
    compat_headers: bool = True

    def describe(self) -> str:
        auth = "api key" if self.api_key else "basic auth" if self.basic_auth else "no auth"
        media = "versioned media type" if self.compat_headers else "plain JSON"
        return f"{', '.join(self.hosts)} ({auth}, {media})"


def _host_of(url: str) -> str:
    """The URL with any user:password removed, for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc).geturl()


def _truth(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def parse_switch(env: Mapping[str, str], name: str, default: bool, errors: list[str]) -> bool:
    """A true/false setting; anything else is a start-up error naming it (not silently false)."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return _truth(raw, name)
    except ValueError as error:
        errors.append(str(error))
        return default


def parse_settings(config: Mapping) -> ElasticsearchSettings:
    """The settings of `config` (app.config or load_config's dict); SettingsError naming every problem."""
    errors: list[str] = []
    raw = config.get("ELASTICSEARCH_URL") or ""
    hosts: list[str] = []
    url_credentials: set[tuple[str, str]] = set()
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            errors.append("ELASTICSEARCH_URL has an empty entry (URLs are separated by single commas)")
            continue
        try:
            parts = urlsplit(item)
            port = parts.port
        except ValueError:
            errors.append(f"ELASTICSEARCH_URL entry {_host_of(item)!r} is not a valid URL (bad port?)")
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(f"ELASTICSEARCH_URL entry {_host_of(item)!r} must be an http:// or https:// URL with a host")
            continue
        if parts.query or parts.fragment:
            errors.append(f"ELASTICSEARCH_URL entry {_host_of(item)!r} must not carry a query or fragment")
            continue
        if parts.username is not None:
            url_credentials.add((unquote(parts.username), unquote(parts.password or "")))
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = f"{host}:{port or (443 if parts.scheme == 'https' else 80)}"  # the client's defaults
        hosts.append(parts._replace(netloc=netloc).geturl().rstrip("/"))
    if len(url_credentials) > 1:
        errors.append("ELASTICSEARCH_URL entries carry different credentials; use ELASTICSEARCH_USERNAME and "
                      "ELASTICSEARCH_PASSWORD (or ELASTICSEARCH_API_KEY) for every node")

    username = config.get("ELASTICSEARCH_USERNAME") or None
    password = config.get("ELASTICSEARCH_PASSWORD") or None
    basic_auth: tuple[str, str] | None = None
    if username or password:
        if not (username and password):
            errors.append("ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD go together")
        basic_auth = (username or "", password or "")
    elif url_credentials:
        basic_auth = next(iter(url_credentials))
    api_key = config.get("ELASTICSEARCH_API_KEY") or None
    if api_key and basic_auth:
        errors.append("ELASTICSEARCH_API_KEY and basic auth (ELASTICSEARCH_USERNAME/PASSWORD or user:password in "
                      "ELASTICSEARCH_URL) are exclusive")

    ca_certs = config.get("ELASTICSEARCH_CA_CERTS") or None
    if ca_certs and not (os.path.isfile(ca_certs) and os.access(ca_certs, os.R_OK)):
        errors.append(f"ELASTICSEARCH_CA_CERTS {ca_certs!r} is not a readable file")
    if ca_certs and hosts and not any(h.startswith("https://") for h in hosts):
        errors.append("ELASTICSEARCH_CA_CERTS is set but no ELASTICSEARCH_URL node uses https://")

    timeout = max_retries = 0.0
    try:
        timeout = float(config.get("ELASTICSEARCH_TIMEOUT", 5))
        if not 0 < timeout <= 300:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(f"ELASTICSEARCH_TIMEOUT must be between 1 and 300 seconds, got {config.get('ELASTICSEARCH_TIMEOUT')!r}")
    try:
        max_retries = int(config.get("ELASTICSEARCH_MAX_RETRIES", 1))
        if not 0 <= max_retries <= 10:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(f"ELASTICSEARCH_MAX_RETRIES must be between 0 and 10, got "
                      f"{config.get('ELASTICSEARCH_MAX_RETRIES')!r}")
    switches = {}
    for name, default in (("ELASTICSEARCH_RETRY_ON_TIMEOUT", False), ("ELASTICSEARCH_COMPAT_HEADERS", True)):
        value = config.get(name)
        try:
            switches[name] = default if value is None or value == "" else _truth(value, name)
        except ValueError as error:
            errors.append(str(error))
            switches[name] = default
    if errors:
        raise SettingsError(errors)
    return ElasticsearchSettings(
        hosts=tuple(hosts), api_key=api_key, basic_auth=basic_auth, ca_certs=ca_certs, timeout=timeout,
        max_retries=int(max_retries), retry_on_timeout=switches["ELASTICSEARCH_RETRY_ON_TIMEOUT"],
        compat_headers=switches["ELASTICSEARCH_COMPAT_HEADERS"])


def settings_errors(config: Mapping) -> list[str]:
    """For `validate_config`: the problems of the Elasticsearch settings (none when it is not used)."""
    if not config.get("ELASTICSEARCH_URL"):
        return []
    try:
        parse_settings(config)
    except SettingsError as error:
        return list(error.problems)
    return []
