"""Type sniffing and text extraction, on real files and on hostile PDFs."""

from __future__ import annotations

import gc
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
import types
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from portal.filing import extract as extract_module
from portal.filing.extract import Extraction, bare_pdf_text, extract, normalise
from portal.filing.sniff import ACCEPTED, sniff
from tests.pdfs import (
    make_circular_prev_pdf,
    make_cyclic_page_tree_pdf,
    make_endless_inline_image_pdf,
    make_flate_bomb_pdf,
    make_garbage_pdf,
    make_jpeg,
    make_pdf,
    make_png,
    make_scanned_pdf,
    make_tiff,
)

PDF = "application/pdf"
HUNGARIAN = "Hitelkérelem: őrző törlesztőrészlet, ŰRLAP és fűtőszál — ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP"
#: Seconds the hostile files get; the checklist wants each to end in under 10 s.
HOSTILE_TIMEOUT = 6.0


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Build every kind of file once for the module."""
    root = tmp_path_factory.mktemp("files")
    make_pdf(root / "hu.pdf", [HUNGARIAN, "Második oldal: ő ű", "Harmadik oldal"], title="Hitel")
    make_pdf(root / "locked.pdf", ["Titkos: ő"], password="jelszó123")
    make_pdf(root / "open.pdf", ["Nyitott kivonat: egyenleg ű"], password="")
    make_scanned_pdf(root / "scan.pdf")
    make_png(root / "a.png")
    make_jpeg(root / "a.jpg")
    make_tiff(root / "a.tif")
    return root


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(8192)


# --- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mime"),
    [("hu.pdf", PDF), ("scan.pdf", PDF), ("a.png", "image/png"), ("a.jpg", "image/jpeg"),
     ("a.tif", "image/tiff")],
)
def test_sniff_recognises_each_type(files, name, mime):
    assert sniff(_head(files / name)) == mime
    assert mime in ACCEPTED


def test_sniff_believes_content_not_the_name(files, tmp_path):
    fake_pdf = tmp_path / "szerzodes.pdf"
    fake_pdf.write_bytes((files / "a.png").read_bytes())
    assert sniff(_head(fake_pdf)) == "image/png"
    text_pdf = tmp_path / "x.pdf"
    text_pdf.write_text("Ez csak egy jegyzet, nem PDF.\n", "utf-8")
    assert sniff(_head(text_pdf)) == "text/plain"


@pytest.mark.parametrize(
    "data",
    [
        "Törlesztőrészlet: 120 000 Ft\r\nŐszi egyeztetés\n".encode(),
        "\ufeffBOM-mal: őrző űrlap".encode(),
        "Árvíztűrő tükörfúrógép, ő és ű\n".encode("cp1250"),
        "Ékezetes ő ű\n".encode("iso-8859-2"),
        ("ő" * 4095).encode()[:8191],  # a character cut by the 8 KB head
    ],
)
def test_sniff_text_in_utf8_and_central_european_codepages(data):
    assert sniff(data) == "text/plain"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        random.Random(7).randbytes(8192),
        b"MZ\x90\x00" + b"\x00" * 200,
        "UTF-16 szöveg".encode("utf-16"),
        bytes(range(1, 32)) * 50,
        b"GIF89a\x01\x00\x01\x00",
    ],
    ids=["empty", "random", "exe", "utf16", "controls", "gif"],
)
def test_sniff_refuses_everything_else(data):
    assert sniff(data) is None


def test_sniff_allows_junk_before_the_pdf_header_only_within_1_kb():
    assert sniff(b"X-Scanner: 42\n" * 20 + b"%PDF-1.4\n") == PDF
    assert sniff(b"x" * 1100 + b"%PDF-1.4\n") == "text/plain"


# --- text files -------------------------------------------------------------------------------


def test_text_file_utf8_with_bom_and_crlf(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffElső  sor\r\nmásodik\t\tsor ő ű\r\n\r\n\r\n\r\nharmadik".encode())
    result = extract(path, "text/plain")
    assert result == Extraction("text", "Első sor\nmásodik sor ő ű\n\nharmadik", None, None)


def test_text_file_cp1250(tmp_path):
    path = tmp_path / "b.txt"
    path.write_bytes("Árvíztűrő tükörfúrógép: őrző űrlap".encode("cp1250"))
    assert extract(path, "text/plain").text == "Árvíztűrő tükörfúrógép: őrző űrlap"


def test_text_file_empty_or_blank_has_no_text(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b" \r\n\t\n")
    assert extract(path, "text/plain").status == "no_text"


def test_text_file_is_cut_at_max_chars(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("ő" * 1000, "utf-8")
    assert extract(path, "text/plain", max_chars=10).text == "ő" * 10


def test_normalise_removes_nul_and_collapses_space_but_keeps_paragraphs():
    assert normalise("a\x00b  c\t\u00a0d \n\n\n\n e\x07f\fg") == "ab c d\n\ne f\n\ng"


# --- PDFs -------------------------------------------------------------------------------------


def test_pdf_with_hungarian_text(files):
    result = extract(files / "hu.pdf", PDF)
    assert result.status == "text"
    assert result.pages == 3
    assert result.reason is None
    assert HUNGARIAN in result.text
    assert "Második oldal: ő ű" in result.text
    assert result.text.endswith("Harmadik oldal")


def test_bare_pypdf_reads_the_same_words(files):
    assert normalise(bare_pdf_text(files / "hu.pdf")) == extract(files / "hu.pdf", PDF).text


def test_pdf_page_and_char_limits(tmp_path):
    path = make_pdf(tmp_path / "long.pdf", [f"Oldal {n}" for n in range(1, 6)])
    result = extract(path, PDF, max_pages=2)
    assert (result.status, result.pages, result.text) == ("text", 5, "Oldal 1\n\nOldal 2")
    assert "first 2 pages" in result.reason
    cut = extract(path, PDF, max_chars=4)
    assert cut.text == "Olda"
    assert "cut at 4 characters" in cut.reason


def test_pdf_with_a_user_password_is_encrypted(files):
    result = extract(files / "locked.pdf", PDF)
    assert (result.status, result.text) == ("encrypted", "")


def test_pdf_encrypted_with_an_empty_user_password_is_read(files):
    result = extract(files / "open.pdf", PDF)
    assert result.status == "text"
    assert "Nyitott kivonat: egyenleg ű" in result.text


def test_aes_pdf_with_an_empty_user_password_is_read(tmp_path):
    """Bank statements often come AES-encrypted with no password; their text is needed."""
    path = make_pdf(tmp_path / "aes.pdf", ["AES-titkosított kivonat: törlesztés"], password="",
                    aes=True)
    result = extract(path, PDF)
    assert result.status == "text" and "törlesztés" in result.text


def test_aes_pdf_with_a_real_password_is_encrypted(tmp_path):
    path = make_pdf(tmp_path / "aes-locked.pdf", ["titok"], password="jelszo", aes=True)
    assert extract(path, PDF).status == "encrypted"

def test_scanned_pdf_has_no_text(files):
    result = extract(files / "scan.pdf", PDF)
    assert (result.status, result.pages, result.text) == ("no_text", 1, "")


@pytest.mark.parametrize("name", ["a.png", "a.jpg", "a.tif"])
def test_images_have_no_text(files, name):
    assert extract(files / name, sniff(_head(files / name))).status == "no_text"


def test_missing_file_is_unreadable_not_an_exception(tmp_path):
    assert extract(tmp_path / "nincs.pdf", PDF).status == "unreadable"
    assert extract(tmp_path / "nincs.txt", "text/plain").status == "unreadable"


def test_unknown_type_is_a_programming_error(files):
    with pytest.raises(ValueError):
        extract(files / "a.png", "image/gif")


# --- hostile PDFs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (make_flate_bomb_pdf, "unreadable"),
        (make_circular_prev_pdf, "text"),  # pypdf 7 notices the loop and reads the page
        (lambda p: make_circular_prev_pdf(p, cycle=1), "text"),
        (make_cyclic_page_tree_pdf, "unreadable"),
        (make_endless_inline_image_pdf, "unreadable"),  # pypdf alone needs ~18 s: we time out
        (make_garbage_pdf, "unreadable"),
    ],
    ids=["flate-bomb", "prev-cycle", "prev-self", "page-tree-cycle", "endless-inline", "garbage"],
)
def test_hostile_pdf_ends_quickly_without_hurting_the_parent(tmp_path, make, status):
    path = make(tmp_path / "hostile.pdf")
    assert sniff(_head(path)) == PDF
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.monotonic()
    result = extract(path, PDF, timeout=HOSTILE_TIMEOUT)
    elapsed = time.monotonic() - started
    assert elapsed < 10
    assert result.status == status, result
    if status == "unreadable":
        assert result.reason and result.text == ""
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 200 * 1024


def test_wall_clock_timeout_kills_the_child(tmp_path):
    path = make_endless_inline_image_pdf(tmp_path / "slow.pdf")
    started = time.monotonic()
    result = extract(path, PDF, timeout=1.0)
    assert time.monotonic() - started < 4
    assert (result.status, result.reason) == ("unreadable", "timed out")


def test_memory_limit_stops_a_bomb_that_pypdf_limits_would_allow(tmp_path):
    path = make_flate_bomb_pdf(tmp_path / "bomb.pdf", inflated_mb=48)
    result = extract(path, PDF, memory_mb=128)
    assert (result.status, result.reason) == ("unreadable", "too much memory")


# --- concurrency and cleanliness --------------------------------------------------------------


def test_eight_extractions_from_four_threads(tmp_path):
    paths = [
        make_pdf(tmp_path / f"p{i}.pdf", [f"Párhuzamos kérelem {i} ő", f"egyedi{i}szó ű"] * (i + 1))
        for i in range(8)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda p: extract(p, PDF), paths))
    for i, result in enumerate(results):
        assert (result.status, result.pages) == ("text", 2 * (i + 1))
        assert f"Párhuzamos kérelem {i} ő" in result.text
        assert f"egyedi{i}szó ű" in result.text


def test_works_inside_a_daemonic_pool_worker(files, tmp_path):
    slow = make_endless_inline_image_pdf(tmp_path / "slow.pdf")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        good = pool.apply(extract, (files / "hu.pdf", PDF))
        bad = pool.apply(extract, (slow, PDF), {"timeout": 1.0})
    assert (good.status, good.pages) == ("text", 3)
    assert HUNGARIAN in good.text
    assert (bad.status, bad.reason) == ("unreadable", "timed out")


def test_a_misreported_exit_code_does_not_lose_a_finished_result(files, monkeypatch):
    # multiprocessing's forkserver Popen.poll() is not thread-safe: when another thread's
    # Process.start() polls the same child, one of the two reads exit code 255.
    real_wait = extract_module._wait
    monkeypatch.setattr(extract_module, "_wait", lambda child, t: (real_wait(child, t), 255)[1])
    result = extract(files / "hu.pdf", PDF)
    assert (result.status, result.pages) == ("text", 3)


def test_a_main_scripts_imports_are_preloaded_without_touching_proxies(monkeypatch):
    class Proxy:
        def __getattr__(self, name):
            raise RuntimeError("Working outside of application context.")

    main = types.ModuleType("__main__")
    main.__spec__ = None
    main.json, main.dump, main.Path, main.proxy = json, json.dump, Path, Proxy()
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert extract_module._main_imports() == ["json", "pathlib"]


def test_no_resource_warnings_and_no_leftover_children(files, tmp_path, monkeypatch):
    # A temporary folder of its own, so other processes on the machine cannot interfere.
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    leftovers = set(Path(tempfile.gettempdir()).glob("portal-extract-*"))
    bomb = make_flate_bomb_pdf(tmp_path / "bomb.pdf", inflated_mb=64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        extract(files / "hu.pdf", PDF)
        extract(bomb, PDF)
        extract(make_endless_inline_image_pdf(tmp_path / "slow.pdf"), PDF, timeout=0.5)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert multiprocessing.active_children() == []
    assert set(Path(tempfile.gettempdir()).glob("portal-extract-*")) <= leftovers
