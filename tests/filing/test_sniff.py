"""Plain text that is really markup or a script, and names that claim another kind."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.filing.extract import extract
from portal.filing.sniff import claimed_type, is_markup, sniff


@pytest.mark.parametrize("data", [
    b"<!DOCTYPE html><html><body>Invoice</body></html>",
    b"<html><p>x</p></html>",
    b"  \n<HTML>upper case</HTML>",
    b"\xef\xbb\xbf<!doctype html>",
    b'<?xml version="1.0" encoding="UTF-8"?><camt>1</camt>',
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    b"Dear client,\n<script>document.location='//x'</script>",
    b"Szia! <iframe src=//evil.example></iframe>",
    b"#!/usr/bin/env python3\nprint('hi')\n",
    b"<?php system($_GET['c']); ?>",
    b'<img src=x onerror="fetch(1)">',
    b"<!ENTITY xxe SYSTEM 'file:///etc/passwd'>",
    b"<a href=\"#\" onclick=\"steal()\">click</a>",
])
def test_markup_and_scripts_are_not_plain_text(data):
    assert is_markup(data)
    assert sniff(data) is None


@pytest.mark.parametrize("data", [
    "Törlesztés: 120 000 Ft < 150 000 Ft havi jövedelem\n".encode(),
    b"if a < b and c > d: the clause applies\n",
    b"Send it to <kovacs.eszter@example.hu> please\n",
    b"<3 thanks for the quick answer\n",
    "Árvíztűrő tükörfúrógép #1\n".encode("cp1250"),
])
def test_ordinary_letters_with_angle_brackets_stay_plain_text(data):
    assert not is_markup(data)
    assert sniff(data) == "text/plain"


@given(st.text(alphabet=st.characters(blacklist_characters="<#\x00",
                                      blacklist_categories=("Cs",)), max_size=400))
def test_text_without_tags_or_a_shebang_is_never_markup(text):
    assert not is_markup(text.encode())


def test_markup_after_the_sniffed_head_is_found_when_the_text_is_read(tmp_path):
    path = tmp_path / "memo.txt"
    path.write_bytes(b"Plain enough. " * 1000 + b"<script>alert(1)</script>")
    assert sniff(path.read_bytes()[:8192]) == "text/plain"
    result = extract(path, "text/plain")
    assert result.status == "unreadable" and result.reason == "markup"


@pytest.mark.parametrize(("name", "claim"), [
    ("invoice.pdf", "application/pdf"), ("SCAN.PDF", "application/pdf"),
    ("photo.jpeg", "image/jpeg"), ("photo.JPG", "image/jpeg"), ("fax.tiff", "image/tiff"),
    ("a.png", "image/png"), ("notes.txt", "text/plain"), ("export.csv", "text/plain"),
    ("page.html", "never"), ("drawing.svg", "never"), ("run.exe", "never"),
    ("data.xml", "never"), ("tool.js", "never"),
    ("no extension", None), (".hidden", None), ("report.2026", None), ("a.docx", None),
])
def test_what_a_name_claims(name, claim):
    assert claimed_type(name) == claim
