"""Text handling shared by the backends: normalisation, query terms, typo similarity, snippets.

Queries are never passed to a query language: they are cut into plain terms here (quotes,
wildcards, parentheses, FTS5 and Lucene operators become separators or are dropped), so no
backend can see a syntax error.
"""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup, escape

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
FUZZY_MIN_LENGTH = 4  # typo tolerance starts at four characters, as Elasticsearch's AUTO fuzziness
SIMILARITY_THRESHOLD = 0.5  # one typo in a five-letter word (lazer/laser) shares half its trigrams

_SEPARATORS = re.compile(r"[^\w]+")
_OPERATORS = {"OR", "AND", "NOT", "NEAR"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def normalise(text: str | None) -> str:
    """Width- and case-folded text (NFKC + casefold): what is stored and compared."""
    return unicodedata.normalize("NFKC", text or "").casefold()


def clean_query(raw: str | None) -> str:
    """The query as people typed it, reduced to words and single spaces."""
    return " ".join(query_terms(raw, keep_case=True))


def query_terms(raw: str | None, keep_case: bool = False) -> list[str]:
    words = [w for w in _SEPARATORS.split(unicodedata.normalize("NFKC", raw or "")) if w and w != "_"]
    words = [w.strip("_") for w in words if w not in _OPERATORS]
    seen: list[str] = []
    for word in words:
        value = word if keep_case else normalise(word)
        if value and value not in seen:
            seen.append(value)
    return seen[:MAX_TERMS]


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


# ---- short terms ------------------------------------------------------------------------------
# Trigram indexes (SQLite's FTS5 trigram tokenizer, PostgreSQL's pg_trgm) cannot answer a term of one or
# two characters, and in Chinese those are common words (融资, 青岛, 车). Each document's search text
# therefore ends with its short grams, every one between two GRAM_MARK characters: the one- and
# two-character substrings of its CJK runs and its whole words of one or two characters. A short term t
# is then the three- or four-character string MARK t MARK, which both indexes answer. The mark is a
# private-use character: never in normalised text people type (queries split on it), so no other term
# can match inside the gram list.
GRAM_MARK = "\ue000"
SHORT_TERM = 2
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")


def short_grams(text: str) -> str:
    """The gram list that `with_grams` appends to a normalised text ("" when it has none)."""
    grams: set[str] = set()
    for run in _CJK_RUN.findall(text):
        grams.update(run)
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    for word in _SEPARATORS.split(text):  # short words, also where they touch a CJK run ("3d打印" has "3d")
        grams.update(piece for piece in _CJK_RUN.split(word) if 0 < len(piece.strip("_")) <= SHORT_TERM)
    return GRAM_MARK + GRAM_MARK.join(sorted(grams)) + GRAM_MARK if grams else ""


def with_grams(text: str) -> str:
    """A document's search text: the normalised text, then its short grams (see GRAM_MARK)."""
    base = text.split("\n" + GRAM_MARK, 1)[0]
    grams = short_grams(base)
    return f"{base}\n{grams}" if grams else base


def short_term_pattern(term: str) -> str:
    """What a short term is looked up as in the gram list."""
    return f"{GRAM_MARK}{term}{GRAM_MARK}"


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before and one after."""
    padded = f"  {word} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def similarity(term: str, word: str) -> float:
    """How much of `term`'s trigrams `word` shares (pg_trgm's word_similarity for a single word)."""
    wanted = trigrams(term)
    return len(wanted & trigrams(word)) / len(wanted) if wanted else 0.0


_VOCABULARY_WORD = re.compile(rf"[^\W\d_]{{{FUZZY_MIN_LENGTH},40}}")


def vocabulary_shaped(term: str) -> bool:
    """Whether a normalised term could be a vocabulary word (letters only, no CJK)."""
    return bool(_VOCABULARY_WORD.fullmatch(term)) and not has_cjk(term)


def vocabulary(text: str) -> set[str]:
    """The words of a normalised text that typo tolerance may expand to (no CJK runs, no numbers)."""
    return {w for w in _VOCABULARY_WORD.findall(text) if not has_cjk(w)}


def snippet(texts: list[str], words: list[str], width: int = 160) -> Markup:
    """An HTML-escaped excerpt around the first match, every match wrapped in <mark>.

    The text is escaped piece by piece, so nothing from a document can become markup.
    """
    words = sorted({w for w in words if w}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None
    chosen, start = next((t for t in texts if t), ""), 0
    if pattern is not None:
        for text in texts:
            match = pattern.search(unicodedata.normalize("NFKC", text or ""))
            if match:
                chosen, start = unicodedata.normalize("NFKC", text), match.start()
                break
    chosen = " ".join(chosen.split())
    if pattern is not None and (match := pattern.search(chosen)):
        start = match.start()
    begin = max(0, start - width // 3)
    if begin:
        space = chosen.rfind(" ", 0, begin)
        begin = space + 1 if space >= 0 and begin - space < 20 else begin
    excerpt = chosen[begin:begin + width]
    parts: list[str] = ["…" if begin else ""]
    position = 0
    if pattern is not None:
        for match in pattern.finditer(excerpt):
            parts.append(str(escape(excerpt[position:match.start()])))
            parts.append(f"<mark>{escape(match.group(0))}</mark>")
            position = match.end()
    parts.append(str(escape(excerpt[position:])))
    if begin + width < len(chosen):
        parts.append("…")
    return Markup("".join(parts))
