"""The Hungarian catalog covers every UI string in the source.

The strings are extracted straight from the code and templates with the same mapping
(babel.cfg) and keywords (the defaults plus ``_l``) as ``make translations-extract``, so a
new ``_()``/``_l()``/``ngettext()`` call or template string fails here until it has been
extracted into messages.po and translated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "babel.cfg"
HU_CATALOG = ROOT / "portal" / "translations" / "hu" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_pgettext": ((1, "c"), 2)}
FIX_HINT = "run `make translations-extract`, then translate the entries in " + str(
    HU_CATALOG.relative_to(ROOT)
)

# Python %-format conversions: named (%(count)s, %(n)d, %(amount).2f) and positional (%s, %d).
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")

MsgId = str | tuple[str, ...]
Key = tuple[str | None, str]  # (context, singular msgid)


def _extract() -> dict[Key, tuple[MsgId, str]]:
    """Every message in the source: key -> (msgid as extracted, "file:line" of first use)."""
    with MAPPING.open(encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, str(MAPPING))
    found: dict[Key, tuple[MsgId, str]] = {}
    for filename, lineno, msgid, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        singular = msgid if isinstance(msgid, str) else msgid[0]
        if not singular:
            continue
        found.setdefault((context, singular), (msgid, f"{filename}:{lineno}"))
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[Key, tuple[MsgId, str]]:
    return _extract()


@pytest.fixture(scope="module")
def hu() -> Catalog:
    with HU_CATALOG.open("rb") as fileobj:
        return read_po(fileobj, locale="hu")


def _forms(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _placeholders(texts: Iterable[str]) -> set[str]:
    return {m.group(0) for text in texts for m in PLACEHOLDER.finditer(text.replace("%%", ""))}


def _by_location(item: tuple[Key, tuple[MsgId, str]]) -> tuple[str, int]:
    filename, lineno = item[1][1].rsplit(":", 1)
    return filename, int(lineno)


def _describe(msgid: MsgId) -> str:
    return repr(msgid if isinstance(msgid, str) else msgid[0])


def test_extraction_sees_python_and_templates(extracted: dict[Key, tuple[MsgId, str]]) -> None:
    # Guards the other tests against passing vacuously on a broken mapping or keyword set.
    files = {where.rsplit(":", 1)[0] for _msgid, where in extracted.values()}
    assert any(f.endswith(".py") for f in files), "no string extracted from Python code"
    assert any(f.endswith(".html") for f in files), "no string extracted from templates"
    assert any(not isinstance(msgid, str) for msgid, _where in extracted.values()), (
        "no plural (ngettext) string extracted"
    )


def test_catalog_header(hu: Catalog) -> None:
    assert not hu.fuzzy, "the catalog header is marked fuzzy"
    assert hu.num_plurals == 2, hu.plural_forms


def test_every_ui_string_has_a_hungarian_translation(
    extracted: dict[Key, tuple[MsgId, str]], hu: Catalog
) -> None:
    problems: list[str] = []
    for (context, singular), (msgid, where) in sorted(extracted.items(), key=_by_location):
        message: Message | None = hu.get(singular, context=context)
        if message is None:
            problems.append(f"{where}: {_describe(msgid)} is missing from the catalog")
            continue
        if not isinstance(msgid, str) and tuple(_forms(message.id)) != tuple(msgid):
            problems.append(
                f"{where}: {_describe(msgid)} plural msgid in the catalog is {message.id!r}, "
                f"in the source {msgid!r}"
            )
            continue
        if message.fuzzy:
            problems.append(f"{where}: {_describe(msgid)} is fuzzy")
        forms = _forms(message.string)
        if not isinstance(msgid, str) and len(forms) != hu.num_plurals:
            problems.append(
                f"{where}: {_describe(msgid)} has {len(forms)} plural forms, "
                f"expected {hu.num_plurals}"
            )
        if not forms or not all(form.strip() for form in forms):
            problems.append(f"{where}: {_describe(msgid)} is not translated")
    assert not problems, f"{len(problems)} untranslated UI string(s); {FIX_HINT}:\n" + "\n".join(
        problems
    )


def test_translations_keep_the_placeholders(hu: Catalog) -> None:
    problems: list[str] = []
    for message in hu:
        if not message.id:
            continue  # header
        source = _forms(message.id)
        expected = _placeholders(source)
        dummy = {name: 1 for name in PLACEHOLDER.findall(" ".join(source)) if name}
        for form in _forms(message.string):
            if not form:
                continue  # reported by the completeness test
            got = _placeholders([form])
            if got != expected:
                problems.append(
                    f"{_describe(message.id)} -> {form!r}: placeholders {sorted(got)}, "
                    f"expected {sorted(expected)}"
                )
                continue
            if dummy:
                # Same placeholders, but the whole string must also format, e.g. no lone "%".
                try:
                    form % dummy
                except (KeyError, TypeError, ValueError) as exc:
                    problems.append(f"{_describe(message.id)} -> {form!r}: {exc}")
    assert not problems, "placeholder mismatch in the Hungarian catalog:\n" + "\n".join(problems)
