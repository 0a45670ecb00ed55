"""Test-only transport node for osmem-server (an in-memory Elasticsearch-compatible server).

The official client sends `application/vnd.elasticsearch+json; compatible-with=8`, which osmem
answers with 406; this node rewrites that media type to plain JSON (NDJSON for bulk).
"""

from __future__ import annotations

from elastic_transport import Urllib3HttpNode


def _plain(value: str) -> str:
    if "compatible-with" not in value:
        return value
    return "application/x-ndjson" if "x-ndjson" in value else "application/json"


class PlainJsonNode(Urllib3HttpNode):
    def perform_request(self, method, target, body=None, headers=None, **kwargs):
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                if headers.get(name):
                    headers[name] = _plain(headers[name])
        return super().perform_request(method, target, body=body, headers=headers, **kwargs)
