"""Text analysis for search: words, folding, stems, query rewriting and highlights.

Every word is indexed twice: folded (lower case, accents removed) in the ``exact`` fields, and
as a small set of stems in the ``stem`` fields, so that inflected and accent-less forms match
while the exact form still scores higher. Query words, index words and highlighted words all
go through the same functions here, so what is found is also what is marked. A query is parsed
by Whoosh's QueryParser (AND by default, OR, NOT, "phrases", prefix*) over raw words; each word
then becomes ``exact:folded^2 OR title:folded^3 OR stem:s OR title_stem:s^1.5`` for its stems.

Hungarian stems: Whoosh's Snowball port spells ``ő``/``ű`` as ``õ``/``û`` (Latin-1), so the
word is mapped to that spelling before stemming, or suffixes such as ``-ből``/``-ről`` would
never be removed. One pass is not idempotent (``hitelkártyákat → hitelkártya → hitelkárty``),
so the stemmer is repeated up to ``HU_MAX_PASSES`` times; after the first pass a further pass
is kept only while the stem keeps ``HU_MIN_LATER_STEM`` characters, which stops English words
from being worn down (``statement → statemen → stat``). Both the accented and the folded word
are stemmed (they give different stems) and the English stemmer runs on the folded word.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from markupsafe import Markup, escape
from whoosh import qparser
from whoosh import query as wq
from whoosh.analysis import Filter, RegexTokenizer
from whoosh.lang import stemmer_for_language
from whoosh.matching import IntersectionMatcher, NullMatcher, WrappingMatcher
from whoosh.query import Query
from whoosh.query.spans import Span, SpanWrappingMatcher
from whoosh.util import make_binary_tree

from .backend import MAX_QUERY_LENGTH

logger = logging.getLogger(__name__)

#: A word: letters/digits (with combining accents), dotted runs kept together (``2024.01.15``).
WORD_PATTERN = r"\w[\w\u0300-\u036f]*(?:\.\w[\w\u0300-\u036f]*)*"
WORD_RE = re.compile(WORD_PATTERN)
#: Longer tokens (base64, hashes, garbage from PDFs) are not indexed.
MAX_WORD_CHARS = 64
#: Query words beyond this many are ignored; a prefix needs this many characters before ``*``.
MAX_QUERY_WORDS, MIN_PREFIX_CHARS = 20, 2
#: Boosts: the exact form over a stem, the title over the text.
EXACT_BOOST, TITLE_BOOST, TITLE_STEM_BOOST = 2.0, 3.0, 1.5
HU_MAX_PASSES = 3
HU_MIN_LATER_STEM = 5
#: Highlighting only looks at this much of a document's text.
HIGHLIGHT_SCAN_CHARS = 200_000
#: Highlighting stops looking after this many matched words.
HIGHLIGHT_MAX_MATCHES = 2_000
#: Words whose verdict (matches the query or not) a query keeps for its page's highlights.
HIGHLIGHT_MAX_VERDICTS = 50_000

_hu_stem = stemmer_for_language("hu")
_en_stem = stemmer_for_language("en")
#: The English stemmer's irregular words whose stem changes their second letter (from its
#: table of special words): the only stems not beginning with their word's first two letters.
RESPELLED = frozenset({"dying", "lying", "tying"})
_SNOWBALL_HU = str.maketrans({"ő": "õ", "ű": "û"})
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=100_000)
def fold(word: str) -> str:
    """Return the word in lower case with accents removed."""
    word = word.lower()
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    # lower() again: compatibility letters such as 𝕬 or ℍ decompose to capitals.
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _hu_fixpoint(word: str) -> str:
    """Stem a lower-case word with the Hungarian stemmer until it stops changing."""
    word = word.translate(_SNOWBALL_HU)
    for passno in range(HU_MAX_PASSES):
        stemmed = _hu_stem(word)
        # Whoosh's port takes a whole word such as "akké" off (and fails on "" next time).
        if not stemmed or stemmed == word or (passno and len(stemmed) < HU_MIN_LATER_STEM):
            break
        word = stemmed
    return word


@lru_cache(maxsize=100_000)
def stems(word: str) -> tuple[str, ...]:
    """Return the folded Hungarian and English stems of a word, sorted and distinct."""
    lower = unicodedata.normalize("NFC", word.lower())
    folded = fold(lower)
    if not folded.isalpha():
        return (folded,)
    found = {fold(_hu_fixpoint(lower)), fold(_hu_fixpoint(folded)), _en_stem(folded)}
    found.discard("")
    return tuple(sorted(found)) or (folded,)


def words(text: str) -> list[str]:
    """Split text into words as the index does (long junk words are dropped)."""
    return [w for w in WORD_RE.findall(text) if len(w) <= MAX_WORD_CHARS]


class FoldFilter(Filter):
    """Fold each token; drop overlong tokens."""

    def __call__(self, tokens: Iterable) -> Iterator:
        for token in tokens:
            if len(token.text) <= MAX_WORD_CHARS:
                token.text = fold(token.text)
                yield token


class StemSetFilter(Filter):
    """Replace each token by its stems, all at the token's position."""

    is_morph = True

    def __call__(self, tokens: Iterable) -> Iterator:
        for token in tokens:
            if len(token.text) > MAX_WORD_CHARS:
                continue
            for stem in stems(token.text):
                token.text = stem
                yield token


def exact_analyzer():
    """Build the analyzer of the ``exact`` fields (folded words with positions)."""
    return RegexTokenizer(WORD_PATTERN) | FoldFilter()


def stem_analyzer():
    """Build the analyzer of the ``stem`` fields (sets of stems per word)."""
    return RegexTokenizer(WORD_PATTERN) | StemSetFilter()


# -- queries --------------------------------------------------------------------------------


class Phrase(wq.Phrase):
    """A phrase matched by position arithmetic instead of Whoosh's span objects.

    Whoosh's ``Phrase`` builds a ``SpanNear2`` matcher that makes a ``Span`` object for each
    position of each word and compares them pairwise, which on common words (a statement
    says "kártyás vásárlás" on every line) cost seconds. Here a document matches when some
    start position p has word i at p + i for every i: a few set operations per document.
    The score is that of the words (as with Whoosh's phrase).
    """

    def matcher(self, searcher, context=None):
        field = searcher.schema[self.fieldname] if self.fieldname in searcher.schema else None
        if field is None or not field.format or not field.format.supports("positions"):
            return NullMatcher()
        reader, matchers = searcher.reader(), []
        for word in self.words:
            try:
                term = (self.fieldname, field.to_bytes(word))
            except ValueError:
                return NullMatcher()
            if term not in reader:
                return NullMatcher()  # a word that is nowhere: no phrase either
            matchers.append(wq.Term(self.fieldname, word).matcher(searcher, context))
        matcher = _PhraseMatcher(matchers)
        return WrappingMatcher(matcher, boost=self.boost) if self.boost != 1.0 else matcher


class _PhraseMatcher(SpanWrappingMatcher):
    """Match the documents of all the word matchers where the words stand in a row."""

    def __init__(self, matchers: list) -> None:
        self.ms = matchers
        super().__init__(make_binary_tree(IntersectionMatcher, matchers))

    def copy(self):
        return self.__class__([m.copy() for m in self.ms])

    def replace(self, minquality=0):
        return self if self.is_active() else NullMatcher()

    def _get_spans(self):
        starts = set(self.ms[0].value_as("positions"))
        for offset, matcher in enumerate(self.ms[1:], 1):
            starts.intersection_update([p - offset for p in matcher.value_as("positions")])
            if not starts:
                return []
        last = len(self.ms) - 1
        return [Span(start, start + last) for start in sorted(starts)]




@dataclass
class ParsedQuery:
    """A user's query as Whoosh clauses, plus the words it highlights and may correct."""

    query: Query | None
    terms: list[str] = field(default_factory=list)  # folded positive words, prefixes with *
    exact: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    words: list[str] = field(default_factory=list)  # plain positive words (for suggestions)
    has_or: bool = False
    #: Highlighting's memo of words judged (see ``highlight_passages``).
    verdicts: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)
    _stem_starts: set[str] | None = field(default=None, repr=False, compare=False)

    def matches(self, word: str) -> bool:
        """Tell whether a word of a text matches the query (for highlighting).

        Stemming every word of a page's texts was most of a search's own time, so a word is
        stemmed only if it begins like one of the query's stems: the stemmers take endings
        off, so a stem begins with its word's first two letters, or is the word's first
        letter alone (English ``aed → a``); the few ``RESPELLED`` words are always stemmed.
        """
        folded = fold(word)
        if folded in self.exact or (self.prefixes and folded.startswith(tuple(self.prefixes))):
            return True
        if not self.stems:
            return False
        if self._stem_starts is None:
            self._stem_starts = {stem[:2] for stem in self.stems}
        starts = self._stem_starts
        if folded[:2] not in starts and folded[:1] not in starts and folded not in RESPELLED:
            return False
        return not self.stems.isdisjoint(stems(word))


def word_query(word: str) -> Query:
    """Return the clause matching a word: its folded form (boosted) or any of its stems."""
    folded = fold(word)
    clauses: list[Query] = [wq.Term("exact", folded, boost=EXACT_BOOST),
                            wq.Term("title", folded, boost=TITLE_BOOST)]
    for stem in stems(word):
        clauses += [wq.Term("stem", stem), wq.Term("title_stem", stem, boost=TITLE_STEM_BOOST)]
    return wq.Or(clauses)


class _Rewriter:
    """Rewrite a parse tree of raw words into clauses over the exact and stem fields."""

    def __init__(self) -> None:
        self.parsed = ParsedQuery(query=None)
        self.budget = MAX_QUERY_WORDS

    def rewrite(self, q: Query, positive: bool = True) -> Query:
        """Return the clause for one node of the parse tree."""
        if isinstance(q, wq.Term):
            return self._words(str(q.text), positive)
        if isinstance(q, wq.Phrase):
            return self._words(" ".join(q.words), positive)
        if isinstance(q, wq.Prefix):
            return self._prefix(str(q.text), positive)
        if isinstance(q, wq.Wildcard):  # only a trailing * is supported: the rest are words
            return self._words(re.sub(r"[*?]", " ", str(q.text)), positive)
        if isinstance(q, wq.Not):
            return wq.Not(self.rewrite(q.query, not positive))
        if isinstance(q, wq.AndNot):
            return wq.AndNot(self.rewrite(q.a, positive), self.rewrite(q.b, not positive))
        if isinstance(q, wq.Or | wq.AndMaybe):
            self.parsed.has_or = True
        if q.is_leaf():
            return wq.NullQuery
        return q.apply(lambda child: self.rewrite(child, positive))

    def _take(self, raw: str) -> list[str]:
        """Return the words of raw text that still fit in the word budget."""
        found = words(raw)[: max(self.budget, 0)]
        self.budget -= len(found)
        return found

    def _words(self, raw: str, positive: bool) -> Query:
        """Return a word's clause, or a phrase clause for several words."""
        found = self._take(raw)
        folded = [fold(w) for w in found]
        if positive:
            self.parsed.terms.extend(f for f in folded if f not in self.parsed.terms)
            self.parsed.exact.update(folded)
            if len(found) == 1:
                self.parsed.words.append(folded[0])
                self.parsed.stems.update(stems(found[0]))
        if not found:
            return wq.NullQuery
        if len(found) > 1:  # exact forms only: the stem fields keep no positions
            return wq.Or([Phrase("exact", folded, boost=EXACT_BOOST),
                          Phrase("title", folded, boost=TITLE_BOOST)])
        return word_query(found[0])

    def _prefix(self, raw: str, positive: bool) -> Query:
        """Return a prefix clause on the folded exact fields."""
        found = words(raw)
        if len(found) != 1 or len(found[0]) < MIN_PREFIX_CHARS:
            return self._words(raw, positive)
        if not self._take(raw):
            return wq.NullQuery
        prefix = fold(found[0])
        if positive:
            self.parsed.terms.append(prefix + "*")
            self.parsed.prefixes.add(prefix)
        return wq.Or([wq.Prefix("exact", prefix, boost=EXACT_BOOST),
                      wq.Prefix("title", prefix, boost=TITLE_BOOST)])


_PARSER_PLUGINS_OFF = ("FieldsPlugin", "RangePlugin", "BoostPlugin", "EveryPlugin",
                       "SingleQuotePlugin")


def parse_query(text: str) -> ParsedQuery:
    """Parse what the user typed (words, OR, NOT, "phrases", prefix*) into a ParsedQuery."""
    text = text[:MAX_QUERY_LENGTH]
    parser = qparser.QueryParser("exact", None, group=qparser.AndGroup)
    for plugin in _PARSER_PLUGINS_OFF:
        parser.remove_plugin_class(getattr(qparser, plugin))
    rewriter = _Rewriter()
    try:
        q = rewriter.rewrite(parser.parse(text)).normalize()
    except Exception:  # the parser is not meant to fail; never let odd input raise anyway
        logger.warning("query not parsed, searching its words: %r", text, exc_info=True)
        rewriter = _Rewriter()
        q = wq.And([rewriter.rewrite(wq.Term("exact", w)) for w in words(text)]).normalize()
    rewriter.parsed.query = None if q is wq.NullQuery else q
    return rewriter.parsed


# -- highlights -----------------------------------------------------------------------------


def highlight_passages(
    text: str, matches: Callable[[str], bool], *, limit: int = 3, context: int = 70,
    enough: int = 0, verdicts: dict[str, bool] | None = None,
) -> list[str]:
    """Return up to ``limit`` escaped passages of text with matching words in <mark>.

    Passages with more different matched words come first. With ``enough``, the scan stops
    once ``limit`` passages hold that many different words each (the rest of the text could
    not give better ones). ``verdicts`` keeps each word's verdict across the texts of a page.
    """
    if limit < 1 or not text:
        return []
    text = text[:HIGHLIGHT_SCAN_CHARS]
    spans: list[tuple[int, int, str]] = []
    if verdicts is None or len(verdicts) > HIGHLIGHT_MAX_VERDICTS:
        verdicts = {}  # a text repeats its words: judge each word once
    full, window_start, window_words = 0, -1, set()
    for m in WORD_RE.finditer(text):
        word = m.group()
        hit = verdicts.get(word)
        if hit is None:
            hit = verdicts[word] = len(word) <= MAX_WORD_CHARS and matches(word)
        if hit:
            start, end = m.span()
            folded = fold(word)
            if window_start >= 0 and end - window_start > 2 * context:  # a passage is closed
                if enough and len(window_words) >= enough:
                    full += 1
                    if full >= limit:
                        break
                window_start, window_words = -1, set()
            if window_start < 0:
                window_start = start
            window_words.add(folded)
            spans.append((start, end, folded))
            if len(spans) >= HIGHLIGHT_MAX_MATCHES:
                break
    if not spans:
        return []
    windows: list[list[tuple[int, int, str]]] = []
    i = 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= 2 * context:
            j += 1
        windows.append(spans[i : j + 1])
        i = j + 1
    best = sorted(windows, key=lambda w: (-len({s[2] for s in w}), -len(w), w[0][0]))[:limit]
    best.sort(key=lambda w: w[0][0])
    return [_render(text, window, context) for window in best]


def _render(text: str, window: list[tuple[int, int, str]], context: int) -> str:
    """Render one passage: escaped text around the window, its matches in <mark>."""
    start = max(0, window[0][0] - context)
    end = min(len(text), window[-1][1] + context)
    if start > 0:
        space = text.find(" ", start, window[0][0])
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", window[-1][1], end)
        end = space if space != -1 else end
    parts = [Markup("…")] if start > 0 else []
    pos = start
    for s, e, _ in window:
        parts.append(escape(_SPACES.sub(" ", text[pos:s])))
        parts.append(Markup("<mark>%s</mark>") % text[s:e])
        pos = e
    parts.append(escape(_SPACES.sub(" ", text[pos:end])))
    if end < len(text):
        parts.append(Markup("…"))
    return Markup("").join(parts).strip()
