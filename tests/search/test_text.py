"""Query cleaning, snippets and the Elasticsearch mapping, without a backend."""

from __future__ import annotations

from portal.search.elastic import ElasticsearchBackend
from portal.search.text import clean_query, query_terms, similarity, snippet


def test_operators_become_plain_words():
    assert query_terms('"Laser" OR (cutter* AND NOT title:ＣＮＣ) NEAR(x) -y +z ~2') == [
        "laser", "cutter", "title", "cnc", "x", "y", "z", "2"]  # upper-case OR, AND, NOT, NEAR are dropped
    assert clean_query("  机器人   sensor!! ") == "机器人 sensor"
    assert query_terms("") == [] and query_terms('"*()') == []


def test_typo_similarity_tolerates_one_mistake():
    assert similarity("machning", "machining") >= 0.5
    assert similarity("lazer", "laser") >= 0.5
    assert similarity("laser", "chamber") < 0.5


def test_snippets_escape_everything_but_the_marks():
    text = "<img src=x onerror=alert(1)> Simultaneous 5-axis milling & drilling"
    html = str(snippet([text], ["milling"]))
    assert html.startswith("&lt;img") and "<mark>milling</mark>" in html and "&amp; drilling" in html
    long = "word " * 100 + "target " + "word " * 100
    cut = str(snippet([long], ["target"], width=60))
    assert cut.startswith("…") and cut.endswith("…") and "<mark>target</mark>" in cut


def test_the_analyzer_is_configurable():
    body = ElasticsearchBackend("http://127.0.0.1:9", analyzer="smartcn").index_body()
    properties = body["mappings"]["properties"]
    assert {properties[f]["analyzer"] for f in ("title", "keywords", "body", "all_text")} == {"smartcn"}
    assert ElasticsearchBackend("http://127.0.0.1:9").index_body()["mappings"]["properties"]["body"]["analyzer"] == "cjk"
