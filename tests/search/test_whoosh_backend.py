"""The Whoosh backend against small corpora built in each test."""

from __future__ import annotations

import functools
import random
import shutil
import threading
import time
from datetime import date

import pytest
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.index import LockError
from whoosh.scoring import BM25F

from portal.search import whoosh_backend
from portal.search.analysis import parse_query
from portal.search.backend import (
    MAX_QUERY_LENGTH,
    IndexDoc,
    IndexState,
    IndexUnavailable,
    SearchQuery,
)
from portal.search.whoosh_backend import WhooshBackend

FILLER = "Az ügyintézés a szokásos rendben folyik, további teendő nincs. "


def doc(doc_id, text, *, client=1, doc_type="letter", title="", tags=(), day=None):
    return IndexDoc(doc_id=doc_id, client_id=client, doc_type=doc_type,
                    title=title or f"Doc {doc_id}", text=text, tags=tuple(tags), doc_date=day)


def new_backend(index_dir) -> WhooshBackend:
    """Open a backend on a new, empty index and declare it complete (nothing is queued)."""
    b = WhooshBackend(index_dir)
    assert b.state() is IndexState.NEW and b.adopt() and b.state() is IndexState.READY
    return b


@pytest.fixture
def backend(tmp_path):
    b = new_backend(tmp_path / "index")
    yield b
    b.close()


def ids(backend, text="", **kw):
    return [h.doc_id for h in backend.search(SearchQuery(text, **kw)).hits]


@pytest.mark.parametrize(
    ("query", "indexed"),
    [
        ("hitelkepesseg", "hitelképesség"),
        ("hitelképesség", "hitelkepesseg"),
        ("hitelkártya", "hitelkártyákat"),
        ("hitelkártyákat", "hitelkártya"),
        ("hitelkartyakat", "hitelkártya"),
        ("hitelkártya", "hitelkartyakat"),
        ("statements", "statement"),
        ("statement", "statements"),
        ("szerzodes", "szerződést"),
        ("szerződést", "szerzodes"),
        ("jovedelemigazolas", "jövedelemigazolást"),
        ("jövedelemigazolást", "jovedelemigazolas"),
    ],
)
def test_inflected_and_accentless_forms_are_found(backend, query, indexed):
    backend.index([doc(1, f"{FILLER} A {indexed} ügyében írunk."), doc(2, FILLER + "bank")])
    assert ids(backend, query) == [1]


def test_title_words_are_searched_and_boosted(backend):
    backend.index([doc(1, FILLER + "kivonat", title="Levél"),
                   doc(2, FILLER + "kivonat", title="Kivonat"),
                   doc(3, FILLER, title="Bankszámlakivonatok")])
    assert ids(backend, "kivonat") == [2, 1]
    assert ids(backend, "bankszamlakivonat") == [3]


def test_exact_form_ranks_above_stemmed_only_match(backend):
    backend.index([doc(1, FILLER + "statements were sent"), doc(2, FILLER + "statement was sent")])
    assert ids(backend, "statement") == [2, 1]
    assert ids(backend, "statements") == [1, 2]


def test_default_and_or_not(backend):
    backend.index([doc(1, "bank hitel"), doc(2, "bank kamat"), doc(3, "hitel kamat")])
    assert ids(backend, "bank hitel") == [1]
    assert sorted(ids(backend, "bank OR hitel")) == [1, 2, 3]
    assert sorted(ids(backend, "bank NOT hitel")) == [2]
    assert sorted(ids(backend, "NOT bank")) == [3]


def test_phrase_matches_adjacent_words_only(backend):
    backend.index([doc(1, "the bank statement arrived"), doc(2, "statement from the bank"),
                   doc(3, "bank: Statement!")])
    assert sorted(ids(backend, '"bank statement"')) == [1, 3]
    assert sorted(ids(backend, "bank statement")) == [1, 2, 3]


def test_phrase_matches_what_whooshs_own_phrase_matches(backend, tmp_path):
    # Our phrase matcher uses position arithmetic; Whoosh's span matcher is the reference.
    rng = random.Random(5)
    vocabulary = ["a", "b", "c", "d"]
    texts = [" ".join(rng.choice(vocabulary) for _ in range(rng.randrange(1, 30)))
             for _ in range(200)]
    backend.index([doc(i, text) for i, text in enumerate(texts, 1)])
    reader = whoosh_index.open_dir(tmp_path / "index")
    with reader.searcher() as searcher:
        for length in (2, 3, 4):
            for _ in range(15):
                words = [rng.choice(vocabulary) for _ in range(length)]  # repeats too: "a b a"
                theirs = {searcher.stored_fields(n)["doc_id"]
                          for n in searcher.docs_for_query(wq.Phrase("exact", words))}
                result = backend.search(SearchQuery(f'"{" ".join(words)}"', per_page=200))
                assert {h.doc_id for h in result.hits} == theirs and result.total == len(theirs)
                assert theirs == {i for i, t in enumerate(texts, 1)
                                  if f" {' '.join(words)} " in f" {t} "}


def test_scores_equal_whooshs_own_bm25f(backend, tmp_path):
    # Field lengths come from cached lists; the scores must be Whoosh's BM25F to the digit.
    rng = random.Random(9)
    vocabulary = "hitel kártya törlesztés bank statement egyenleg kamat".split()
    backend.index([doc(i, " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(1, 60))),
                       title=rng.choice(vocabulary)) for i in range(1, 121)])
    backend.index([doc(i, " ".join(rng.choices(vocabulary, k=i))) for i in range(121, 131)])
    with whoosh_index.open_dir(tmp_path / "index").searcher(weighting=BM25F()) as searcher:
        for text in ["hitel", "kártyák bank", '"bank statement"', "kamat OR egyenleg"]:
            q = whoosh_backend.constrain(parse_query(text).query, SearchQuery(text))
            theirs = {searcher.stored_fields(hit.docnum)["doc_id"]: hit.score
                      for hit in searcher.search(q, limit=None)}
            ours = backend.search(SearchQuery(text, per_page=200))
            assert ours.total == len(theirs) > 0
            assert {h.doc_id: h.score for h in ours.hits} == pytest.approx(theirs, rel=1e-12)


def test_prefix_on_folded_words(backend):
    backend.index([doc(1, "hitelkártya"), doc(2, "hitelkeret"), doc(3, "hitel")])
    assert sorted(ids(backend, "hitelk*")) == [1, 2]
    assert sorted(ids(backend, "HITELKÁ*")) == [1]


@pytest.mark.parametrize("text", ['"bank statement', '"', "((( bank", "bank )))", "*", "?x", "AND"])
def test_odd_queries_do_not_raise(backend, text):
    backend.index([doc(1, "bank statement")])
    result = backend.search(SearchQuery(text))
    assert result.total == len(result.hits) <= 1


def test_unbalanced_quote_searches_words(backend):
    backend.index([doc(1, "bank statement"), doc(2, "bank")])
    assert ids(backend, '"bank statement') == [1]


def test_long_and_wordy_queries_are_capped(backend):
    backend.index([doc(1, "alpha")])
    result = backend.search(SearchQuery("alpha " + "beta " * 200))
    assert result.total == 0 and len(result.terms) == 2
    assert len(backend.search(SearchQuery(" ".join(["w"] * 500))).terms) <= MAX_QUERY_LENGTH
    assert ids(backend, "alpha " + "OR x " * 200) == [1]


def test_terms_are_the_folded_positive_words(backend):
    result = backend.search(SearchQuery('Hitelkártyákat "Bank Statement" hitelk* NOT kamat'))
    assert result.terms == ("hitelkartyakat", "bank", "statement", "hitelk*")


@pytest.fixture
def filed(backend):
    backend.index([
        doc(1, "hitel", client=1, doc_type="letter", tags=["Sürgős", "hu"], day=date(2024, 1, 1)),
        doc(2, "hitel", client=1, doc_type="contract", tags=["hu"], day=date(2024, 2, 1)),
        doc(3, "hitel", client=2, doc_type="letter", tags=["sürgős"], day=date(2024, 3, 1)),
        doc(4, "hitel", client=3, doc_type="statement", day=date(2024, 3, 1)),
        doc(5, "hitel", client=3, doc_type="letter"),
    ])
    return backend


def test_filter_by_client(filed):
    assert sorted(ids(filed, "hitel", client_id=1)) == [1, 2]


def test_filter_by_any_doc_type(filed):
    assert sorted(ids(filed, "hitel", doc_types=("contract", "statement"))) == [2, 4]


def test_filter_by_all_tags(filed):
    assert sorted(ids(filed, "hitel", tags=("SÜRGŐS",))) == [1, 3]
    assert ids(filed, "hitel", tags=("sürgős", "hu")) == [1]


def test_filter_by_inclusive_date_range(filed):
    kw = {"date_from": date(2024, 2, 1), "date_to": date(2024, 3, 1)}
    assert sorted(ids(filed, "hitel", **kw)) == [2, 3, 4]
    assert sorted(ids(filed, "hitel", date_to=date(2024, 1, 1))) == [1]  # undated excluded


def test_mask_hides_hits_and_total(filed):
    result = filed.search(SearchQuery("hitel", hidden_client_ids=frozenset({1, 3})))
    assert [h.doc_id for h in result.hits] == [3] and result.total == 1
    empty = filed.search(SearchQuery("hitel", client_id=1, hidden_client_ids=frozenset({1})))
    assert empty.total == 0 and empty.hits == []


def test_mask_follows_new_segments_moved_documents_and_merges(backend, tmp_path):
    hidden = frozenset({1})
    backend.index([doc(1, "hitel", client=1), doc(2, "hitel", client=2)])
    assert ids(backend, "hitel", hidden_client_ids=hidden) == [2]  # the mask is now cached
    backend.index([doc(3, "hitel", client=1)])  # a new segment
    backend.index([doc(2, "hitel", client=1)])  # moved to the hidden client
    assert backend.search(SearchQuery("hitel", hidden_client_ids=hidden)).total == 0
    assert sorted(ids(backend, "hitel", hidden_client_ids=frozenset({2}))) == [1, 2, 3]
    whoosh_index.open_dir(tmp_path / "index").optimize()  # one merged segment, new numbers
    backend.index([doc(4, "hitel", client=2)])
    assert ids(backend, "hitel", hidden_client_ids=hidden) == [4]
    assert sorted(ids(backend, "hitel", hidden_client_ids=frozenset({2}))) == [1, 2, 3]


def test_empty_query_lists_filtered_documents_newest_first(filed):
    assert ids(filed, "", client_id=3) == [4, 5]
    assert ids(filed, "", hidden_client_ids=frozenset({3})) == [3, 2, 1]


def test_sort_by_date_newest_first_ties_by_id_desc_undated_last(filed):
    assert ids(filed, "hitel", sort="date") == [4, 3, 2, 1, 5]


def test_paging(backend):
    backend.index([doc(i, "hitel " * (i % 7 + 1), day=date(2024, 1, i)) for i in range(1, 26)])
    for sort in ("relevance", "date"):
        pages = [backend.search(SearchQuery("hitel", sort=sort, page=p, per_page=10))
                 for p in (1, 2, 3, 4)]
        assert [r.total for r in pages] == [25] * 4
        got = [[h.doc_id for h in r.hits] for r in pages]
        assert [len(g) for g in got] == [10, 10, 5, 0]
        assert len(set(got[0] + got[1] + got[2])) == 25
    assert ids(backend, "hitel", sort="date", per_page=3) == [25, 24, 23]


def test_total_counts_every_visible_match(backend):
    # Whoosh's top-N collector would prune low-scoring branches once its heap is full.
    backend.index([doc(i, " ".join(["hitel"] * (i % 4 + 1) + ["x"] * (i * 7 % 50)), client=i % 5)
                   for i in range(1, 101)])
    for page in (1, 3):
        result = backend.search(SearchQuery("hitel", hidden_client_ids=frozenset({1}),
                                            page=page, per_page=5))
        assert result.total == 80


def test_suggestion_only_for_visible_words(backend):
    backend.index([doc(1, "xilofonista", client=7), doc(2, "hitelkeret", client=8)])
    visible = backend.search(SearchQuery("xilofonsta"))
    assert visible.total == 0 and visible.suggestion == "xilofonista"
    masked = frozenset({7})
    hidden = backend.search(SearchQuery("xilofonsta", hidden_client_ids=masked))
    assert hidden.total == 0 and hidden.suggestion is None
    assert backend.search(SearchQuery("xilofonista", hidden_client_ids=masked)).total == 0
    filtered = backend.search(SearchQuery("xilofonsta", client_id=8))
    assert filtered.suggestion is None
    assert backend.search(SearchQuery("hitelkeert", hidden_client_ids=masked)).suggestion == (
        "hitelkeret")
    assert backend.search(SearchQuery("hitelkeret")).suggestion is None
    # Each corrected word must be visible by itself (here the OR part has visible hits) ...
    either = backend.search(SearchQuery("xilofonsta OR hitelkeret", hidden_client_ids=masked))
    assert either.total == 1 and either.suggestion is None
    # ... and the corrected query as a whole must find a visible document.
    assert backend.search(SearchQuery("xilofonsta hitelkeret")).suggestion is None


def test_time_limit_returns_partial_results_and_keeps_the_mask(backend, monkeypatch):
    backend.index([doc(i, "hitel", client=1) for i in range(1, 6)])  # lowest docnums: hidden
    backend.index([doc(i, "hitel", client=2) for i in range(6, 11)])
    for sort in ("relevance", "date"):
        # The clock passes the deadline after the five hidden matches and one visible one.
        ticks = iter([0.0] * 7)
        clock = functools.partial(next, ticks, 99.0)
        monkeypatch.setattr(whoosh_backend._Gate, "clock", staticmethod(clock))
        result = backend.search(SearchQuery("hitel", hidden_client_ids=frozenset({1}), sort=sort,
                                            time_limit=1))
        assert result.partial and result.total == 1
        assert len(result.hits) == 1 and result.hits[0].doc_id > 5


def test_time_limit_not_reached(backend):
    backend.index([doc(1, "hitel")])
    result = backend.search(SearchQuery("hitel", time_limit=5))
    assert not result.partial and result.total == 1


def test_try_index_does_not_wait_for_a_busy_writer(backend, tmp_path, monkeypatch):
    other = whoosh_index.open_dir(tmp_path / "index").writer()  # "another process"
    try:
        started = time.perf_counter()
        assert backend.try_index([doc(1, "hitel")], []) is False
        assert time.perf_counter() - started < 0.5  # did not wait for the lock
        monkeypatch.setattr(whoosh_backend, "LOCK_TIMEOUT", 0.2)
        with pytest.raises(LockError):
            backend.index([doc(1, "hitel")])
    finally:
        other.cancel()
    assert backend.count() == 0
    assert backend.try_index([doc(1, "hitel"), doc(2, "hitel")], []) is True
    assert sorted(ids(backend, "hitel")) == [1, 2]
    assert backend.try_index([], [1]) is True
    assert backend.doc_ids() == {2}


def test_update_replaces_and_delete_removes(backend):
    backend.index([doc(1, "régi szöveg"), doc(2, "hitel")])
    backend.index([doc(1, "új szöveg", client=5)])
    assert backend.count() == 2 and ids(backend, "régi") == [] and ids(backend, "új") == [1]
    assert ids(backend, "", client_id=5) == [1]
    backend.delete([1, 999])
    assert backend.doc_ids() == {2} and backend.count() == 1


def test_searcher_stays_correct_across_many_commits_and_merges(backend):
    for i in range(1, 16):
        backend.index([doc(i, f"hitel {i}")])
        assert backend.search(SearchQuery("hitel")).total == i
    backend.index([doc(i, "kamat") for i in range(1, 16, 2)])
    writer = whoosh_index.open_dir(backend._dir).writer()
    writer.commit(optimize=True)  # segments merged away must not come back
    assert backend.count() == 15 and backend.search(SearchQuery("hitel")).total == 7
    assert backend.doc_ids() == set(range(1, 16))


CORPUS = [
    doc(1, "A hitelkártyákat letiltottuk.", client=1, day=date(2024, 1, 1)),
    doc(2, "Bank statement for March.", client=2, day=date(2024, 3, 1), tags=["bank"]),
    doc(3, "Szerződést kötöttünk, jövedelemigazolást kérünk.", client=1, day=date(2024, 2, 1)),
    doc(4, "statements and a hitelkártya", client=3, title="Hitelkártya", day=date(2023, 5, 1)),
    doc(5, "bank hitel kamat", client=2),
]
QUERIES = ["hitelkartya", "statement", '"bank statement"', "hitel*", "bank OR szerzodes",
           "bank NOT statement", ""]


@pytest.mark.parametrize("pool_mb", [whoosh_backend.REBUILD_POOL_MB, 0.005])
def test_rebuild_gives_the_same_results_as_incremental_indexing(tmp_path, monkeypatch, pool_mb):
    monkeypatch.setattr(whoosh_backend, "REBUILD_POOL_MB", pool_mb)  # a small pool: more segments
    incremental, rebuilt = new_backend(tmp_path / "a"), new_backend(tmp_path / "b")
    try:
        incremental.index([doc(9, "régi"), *CORPUS[:2]])
        incremental.index(CORPUS[2:])
        incremental.delete([9])
        rebuilt.index([doc(9, "régi"), doc(1, "outdated")])
        assert rebuilt.rebuild([CORPUS[:3], CORPUS[3:], CORPUS[:1]]) == len(CORPUS)
        for text in QUERIES:
            for sort in ("relevance", "date"):
                a = incremental.search(SearchQuery(text, sort=sort))
                b = rebuilt.search(SearchQuery(text, sort=sort))
                assert a.total == b.total
                same = [h.doc_id for h in a.hits], [h.doc_id for h in b.hits]
                assert same[0] == same[1] if sort == "date" else sorted(same[0]) == sorted(same[1])
        assert rebuilt.doc_ids() == incremental.doc_ids() == {1, 2, 3, 4, 5}
        segments = len(whoosh_index.open_dir(tmp_path / "b").reader().leaf_readers())
        assert segments == 1 if pool_mb >= 1 else segments > 1
        assert not list(tmp_path.glob(".b.rebuild-*"))  # temp and old folders removed
    finally:
        incremental.close()
        rebuilt.close()


def test_rebuild_is_seen_by_another_open_backend(tmp_path):
    builder, other = new_backend(tmp_path / "ix"), WhooshBackend(tmp_path / "ix")
    try:
        for i in range(1, 4):  # three commits, more than the rebuild below makes
            builder.index([doc(i, "régi")])
        assert other.count() == 3
        builder.rebuild([[doc(10, "friss")], [doc(11, "friss")], [doc(12, "friss")]])
        assert sorted(ids(other, "friss")) == [10, 11, 12] and ids(other, "régi") == []
        other.index([doc(13, "friss")])
        assert sorted(ids(builder, "friss")) == [10, 11, 12, 13]
    finally:
        builder.close()
        other.close()


def test_rebuild_keeps_other_writers_out_until_the_swap(tmp_path):
    builder, other = new_backend(tmp_path / "ix"), WhooshBackend(tmp_path / "ix")
    during: list[bool] = []

    def batches():
        yield [doc(1, "friss")]
        during.append(other.try_index([doc(2, "közben")], []))  # would be lost by the swap
        yield [doc(3, "friss")]

    try:
        assert builder.rebuild(batches()) == 2
        assert during == [False]
        assert other.try_index([doc(2, "közben")], []) is True
        assert sorted(ids(builder, "friss OR közben")) == [1, 2, 3]
    finally:
        builder.close()
        other.close()


def test_failed_rebuild_leaves_the_live_index_alone(backend, tmp_path):
    backend.index([doc(1, "régi")])
    (tmp_path / ".index.rebuild-killed" / "sub").mkdir(parents=True)  # a killed rebuild's

    def batches():
        yield [doc(2, "friss")]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        backend.rebuild(batches())
    assert backend.doc_ids() == {1} and ids(backend, "régi") == [1]
    # nothing left behind but the lock file that creating and swapping take
    assert sorted(p.name for p in tmp_path.iterdir()) == [".index.lock", "index"]
    assert backend.try_index([doc(3, "új")], []) is True  # the lock was released


def test_highlight_marks_stemmed_accentless_matches_and_escapes(backend):
    text = "<script>alert('x')</script> Tisztelt Ügyfél! A hitelkártyákat letiltottuk."
    [passage] = backend.highlight(text, SearchQuery("hitelkartya"))
    assert "<mark>hitelkártyákat</mark>" in passage
    assert "<script>" not in passage and "&lt;script&gt;" in passage
    assert backend.highlight(text, SearchQuery("statement")) == []
    assert backend.highlight(text, SearchQuery("")) == []
    assert backend.highlight(text, SearchQuery("hitelk* NOT ugyfel")) == [
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Tisztelt Ügyfél! A "
        "<mark>hitelkártyákat</mark> letiltottuk."]


def test_highlight_limit(backend):
    text = (" ".join(["hitel"] + ["x"] * 80) + " ") * 5
    assert len(backend.highlight(text, SearchQuery("hitel"), limit=2)) == 2
    assert len(backend.highlight(text, SearchQuery("hitel"))) == 3


def test_concurrent_searches_while_indexing(backend):
    backend.index([doc(1, "hitel")])
    errors: list[BaseException] = []

    def search():
        try:
            for _ in range(20):
                assert backend.search(SearchQuery("hitel")).total >= 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(2, 8):
        backend.index([doc(i, "hitel")])
    for t in threads:
        t.join()
    assert errors == [] and backend.count() == 7


def test_timing_sanity(backend):
    text = ("Tisztelt Ügyfél! A hitelkártyákat és a bankszámlakivonatokat csatoltuk. "
            "Monthly statements and payment schedules follow. ") * 90  # about 10 KB
    started = time.perf_counter()
    backend.index([doc(i, text + str(i), client=i % 3) for i in range(1, 41)])
    indexed = time.perf_counter() - started
    started = time.perf_counter()
    result = backend.search(SearchQuery("hitelkartya statement", hidden_client_ids=frozenset({0})))
    searched = time.perf_counter() - started
    assert result.total == 27  # clients 1 and 2
    assert indexed < 15 and searched < 2


# -- index state: new, complete, damaged -----------------------------------------------------


def test_a_new_index_is_empty_takes_no_changes_until_adopted(tmp_path):
    b = WhooshBackend(tmp_path / "ix")
    try:
        assert b.state() is IndexState.NEW and b.count() == 0 and b.doc_ids() == set()
        for attempt in (lambda: b.search(SearchQuery("hitel")),
                        lambda: b.index([doc(1, "hitel")]),
                        lambda: b.try_index([doc(1, "hitel")], [])):
            with pytest.raises(IndexUnavailable) as caught:
                attempt()
            assert caught.value.state is IndexState.NEW
        assert b.adopt() and b.state() is IndexState.READY
        assert (tmp_path / "ix" / whoosh_backend.COMPLETE_MARKER).exists()
        b.index([doc(1, "hitel")])
        assert ids(b, "hitel") == [1]
        # Another process opening it later finds it complete.
        assert WhooshBackend(tmp_path / "ix").state() is IndexState.READY
    finally:
        b.close()


def test_a_new_index_written_to_behind_our_back_is_not_adopted(tmp_path):
    b = WhooshBackend(tmp_path / "ix")
    writer = whoosh_index.open_dir(tmp_path / "ix").writer()  # e.g. an older portal version
    writer.add_document(**whoosh_backend._fields(doc(1, "hitel")))
    writer.commit()
    assert b.adopt() is False and b.state() is IndexState.NEW
    b.close()


def test_an_index_from_before_the_markers_is_adopted(tmp_path):
    (tmp_path / "ix").mkdir()
    ix = whoosh_index.create_in(tmp_path / "ix", whoosh_backend.SCHEMA)  # no marker files
    writer = ix.writer()
    writer.add_document(**whoosh_backend._fields(doc(1, "hitel")))
    writer.commit()
    b = WhooshBackend(tmp_path / "ix")
    try:
        assert b.state() is IndexState.READY and ids(b, "hitel") == [1]
        assert (tmp_path / "ix" / whoosh_backend.COMPLETE_MARKER).exists()
    finally:
        b.close()


def test_a_deleted_folder_makes_an_open_index_damaged_until_rebuilt(backend, tmp_path):
    backend.index([doc(1, "hitel"), doc(2, "kamat")])
    shutil.rmtree(tmp_path / "index")
    assert backend.state() is IndexState.DAMAGED
    with pytest.raises(IndexUnavailable):
        backend.search(SearchQuery("hitel"))
    with pytest.raises(IndexUnavailable):
        backend.try_index([doc(3, "hitel")], [])
    with pytest.raises(IndexUnavailable):
        backend.count()
    assert backend.rebuild([[doc(1, "hitel"), doc(3, "hitel")]], only_if_needed=True) == 2
    assert backend.state() is IndexState.READY and sorted(ids(backend, "hitel")) == [1, 3]


def test_a_garbled_toc_is_damage_found_once_and_not_reopened_meanwhile(backend, tmp_path,
                                                                         monkeypatch):
    backend.index([doc(1, "hitel")])
    [toc] = (tmp_path / "index").glob("_MAIN_*.toc")
    toc.write_bytes(b"\x00not a toc\xff" * 3)
    reads: list[int] = []
    read = backend._read_toc
    monkeypatch.setattr(backend, "_read_toc", lambda gen: reads.append(gen) or read(gen))
    for _ in range(3):
        assert backend.state() is IndexState.DAMAGED
        with pytest.raises(IndexUnavailable):
            backend.search(SearchQuery("hitel"))
    assert len(reads) == 1  # unchanged on disk: not read again
    assert backend.rebuild([[doc(1, "hitel")]]) == 1
    assert backend.state() is IndexState.READY and ids(backend, "hitel") == [1]


def test_a_truncated_segment_is_damage_found_when_opened(backend, tmp_path):
    backend.index([doc(i, "hitel bank " * 50) for i in range(1, 30)])
    backend.close()  # no process has the files mapped any more
    [segment] = (tmp_path / "index").glob("*.seg")
    with open(segment, "r+b") as fh:
        fh.truncate(segment.stat().st_size // 2)
    reopened = WhooshBackend(tmp_path / "index")  # a new process: does not raise
    try:
        assert reopened.state() is IndexState.DAMAGED
        assert reopened.rebuild([[doc(1, "hitel")]], only_if_needed=True) == 1
        assert ids(reopened, "hitel") == [1]
    finally:
        reopened.close()


def test_a_rebuild_only_if_needed_skips_an_index_another_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "LOCK_TIMEOUT", 600.0)  # the second waits, however long
    first, second = new_backend(tmp_path / "ix"), WhooshBackend(tmp_path / "ix")
    started, go = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def batches():
        started.set()
        assert go.wait(timeout=600)
        yield [doc(1, "hitel")]

    def run(name, backend, source):
        try:
            outcome[name] = backend.rebuild(source, only_if_needed=True)
        except BaseException as exc:  # reported below
            outcome[name] = exc

    try:
        shutil.rmtree(tmp_path / "ix")
        rebuilder = threading.Thread(target=run, args=("first", first, batches()))
        rebuilder.start()
        assert started.wait(timeout=600)  # the first holds the write lock now
        waiter = threading.Thread(target=run, args=("second", second, iter([[doc(9, "x")]])))
        waiter.start()
        go.set()
        rebuilder.join(timeout=600)
        waiter.join(timeout=600)
        assert outcome == {"first": 1, "second": None}
        assert second.state() is IndexState.READY and ids(second, "hitel") == [1]
        assert second.rebuild([[doc(2, "hitel")]], only_if_needed=True) is None
    finally:
        first.close()
        second.close()


def test_a_suggestion_names_visible_documents_to_spell_it_from(backend):
    backend.index([doc(1, "hitelkepesseg", client=7), doc(2, "hitelkepesseg", client=8)])
    result = backend.search(SearchQuery("hitelkepeseg", hidden_client_ids=frozenset({7})))
    assert result.suggestion == "hitelkepesseg" and result.suggestion_docs == (2,)
