"""A deterministic corpus of credit-office documents for the document benchmarks.

Hungarian (about 70 %) and English letters, bank statements, credit reports and contracts:
template sentences (amounts, dates, names, account numbers) mixed with sentences drawn from a
Zipf-weighted lexicon of inflected and compound Hungarian words and English words, so that the
index sees realistic term statistics (a few very frequent words, a long tail, unique numbers).
Document ``i`` of seed ``s`` depends only on ``(s, i)``: corpora of different sizes share their
documents. PDFs (fpdf2 + DejaVu, so ő/ű survive) and a few .txt files are written once into
``test-artifacts/bench-corpus/`` (git-ignored) and reused by later runs.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from bench.vocab import (
    BANKS,
    CITIES,
    EN_FUNCTION,
    EN_MONTHS,
    EN_SENTENCES,
    EN_WORDS,
    FAMILY,
    GIVEN,
    HU_FUNCTION,
    HU_HEADS,
    HU_MONTHS,
    HU_SENTENCES,
    HU_STEMS,
    MERCHANTS,
    STREETS,
    TITLES,
)

#: Bump when the generator changes, so cached files of the old one are not reused.
VERSION = 1
ROOT = Path(__file__).resolve().parent.parent / "test-artifacts" / "bench-corpus"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

KINDS = {"letter": "correspondence", "bank_statement": "bank_statement",
         "credit_report": "credit_report", "contract": "contract"}
#: Pages of a PDF by kind (1-20 overall; most documents are short).
PAGES = {"letter": (1, 3), "bank_statement": (1, 12), "credit_report": (2, 8),
         "contract": (4, 20)}



@dataclass(frozen=True)
class Doc:
    number: int
    kind: str
    lang: str
    title: str
    pages: tuple[str, ...]
    doc_date: date
    tags: tuple[str, ...]

    @property
    def doc_type(self) -> str:
        return KINDS[self.kind]

    @property
    def text(self) -> str:
        return "\n\n".join(self.pages)


def _inflect(stem: str) -> list[str]:
    """Return rough Hungarian case forms of a noun (vowel harmony, a/e lengthening)."""
    vowels = [ch for ch in stem if ch in "aáeéiíoóöőuúüű"]
    last = vowels[-1] if vowels else "e"
    back = last in "aáoóuú"
    rounded = last in "öőüű"
    if stem[-1] in "ae":
        base = stem[:-1] + {"a": "á", "e": "é"}[stem[-1]]
        ends = ("t k kat nak ban ból ra ról hoz val ért ig ként ja juk nk ját jával kon" if back
                else "t k ket nek ben ből re ről hez vel ért ig ként je jük nk jét jével ken")
        return [stem] + [base + e for e in ends.split()]
    if stem[-1] in "áéíóőúűiouöü":
        base = stem
        ends = ("t k kat nak ban ból ra ról hoz val ért ig ja juk nk" if back
                else "t k ket nek ben ből re ről hez vel ért ig je jük nk")
        return [stem] + [base + e for e in ends.split()]
    double = stem + stem[-1]
    accusative = stem + "t" if stem[-1] in "jlnrsyz" else None  # hitelt, szerződést
    if back:
        ends = "ot ok okat okból nak ban ból ra ról hoz ért ig ként ja unk ai át ában"
        extra = [double + "al"]
    else:
        ends = ("öt ök öket ökből nek ben ből re ről höz ért ig ként e ünk ei ét ében" if rounded
                else "et ek eket ekből nek ben ből re ről hez ért ig ként e ünk ei ét ében")
        extra = [double + "el"]
    forms = [stem] + [stem + e for e in ends.split()] + extra
    return [accusative if accusative and f[len(stem):] in ("ot", "et", "öt") else f
            for f in forms]


@lru_cache(maxsize=2)
def lexicon(lang: str) -> tuple[list[str], list[float]]:
    """Return the word forms of a language and their cumulative Zipf weights."""
    rng = random.Random(f"lexicon-{VERSION}-{lang}")
    if lang == "hu":
        common = [f for s in HU_STEMS for f in _inflect(s)]
        compounds = sorted({a + b for a in HU_STEMS[:60] for b in HU_HEADS if a != b})
        rare = [f for s in rng.sample(compounds, 600) for f in _inflect(s)]
        function = HU_FUNCTION
    else:
        common = [w + e for w in EN_WORDS for e in ("", "s", "ed", "ing")]
        rare = [a + b for a in EN_WORDS[:40] for b in ("ability", "ments", "wise", "less")]
        function = EN_FUNCTION
    rng.shuffle(common)
    rng.shuffle(rare)
    forms = function + common + rare
    weights = [1.0 / (rank + 3) for rank in range(len(forms))]
    return forms, list(accumulate(weights))


class _Writer:
    """Fills the slots of sentences for one document."""

    def __init__(self, rng: random.Random, lang: str) -> None:
        self.rng, self.lang = rng, lang
        self.forms, self.cum = lexicon(lang)
        self.holder = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
        self.acct = self.account()

    def account(self) -> str:
        r = self.rng
        return f"{r.randrange(10**7, 10**8)}-{r.randrange(10**7, 10**8)}-{r.randrange(10**8):08d}"

    def amount(self) -> str:
        value = int(self.rng.lognormvariate(11, 1.6))
        if self.lang == "hu":
            return f"{value:,} Ft".replace(",", " ")
        return f"HUF {value:,}.00"

    def date(self, around: date | None = None) -> str:
        day = (around or date(2019, 1, 1)) + timedelta(days=self.rng.randrange(0 if around else
                                                                                  2555))
        if self.lang == "hu":
            return f"{day.year}. {HU_MONTHS[day.month - 1]} {day.day}." if self.rng.random() < .3 \
                else f"{day:%Y.%m.%d.}"
        return f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}" if self.rng.random() < .5 \
            else f"{day:%Y-%m-%d}"

    def template(self) -> str:
        r = self.rng
        text = r.choice(HU_SENTENCES if self.lang == "hu" else EN_SENTENCES)
        slots = {"amount": self.amount, "date": self.date, "acct": lambda: self.acct,
                 "name": lambda: self.holder if r.random() < .7 else
                 f"{r.choice(FAMILY)} {r.choice(GIVEN)}",
                 "city": lambda: r.choice(CITIES), "street": lambda: r.choice(STREETS),
                 "bank": lambda: r.choice(BANKS), "n": lambda: str(r.randrange(1, 40)),
                 "day": lambda: str(r.randrange(1, 29)), "days": lambda: str(r.randrange(3, 15)),
                 "months": lambda: str(r.choice([12, 24, 36, 60, 120, 240])),
                 "pct": lambda: f"{r.uniform(2, 25):.2f}".replace(".", "," if self.lang == "hu"
                                                                   else "."),
                 "ref": lambda: f"TRX-{r.randrange(10**9):09d}"}
        while "{" in text:
            head, rest = text.split("{", 1)
            slot, tail = rest.split("}", 1)
            text = head + slots[slot]() + tail
        return text

    def filler(self) -> str:
        words = self.rng.choices(self.forms, cum_weights=self.cum, k=self.rng.randrange(6, 19))
        return " ".join(words).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.template() if self.rng.random() < .35 else self.filler()
                        for _ in range(self.rng.randrange(3, 8)))

    def statement_lines(self, chars: int) -> str:
        r, lines, total = self.rng, [], 0
        balance = int(r.lognormvariate(12, 1))
        while total < chars:
            move = -int(r.lognormvariate(9, 1.3)) if r.random() < .85 else \
                int(r.lognormvariate(12, .5))
            balance += move
            what = (f"KÁRTYÁS VÁSÁRLÁS {r.choice(MERCHANTS)} {r.choice(CITIES).upper()}"
                    if move < 0 else f"JÓVÁÍRÁS {r.choice(FAMILY).upper()} MUNKABÉR")
            if self.lang == "en":
                what = what.replace("KÁRTYÁS VÁSÁRLÁS", "CARD PURCHASE").replace(
                    "JÓVÁÍRÁS", "CREDIT").replace("MUNKABÉR", "SALARY")
            line = f"{self.date()} {what} {move:+,} HUF; {balance:,} HUF".replace(",", " ")
            lines.append(line)
            total += len(line) + 1
        return "\n".join(lines)

    def page(self, kind: str, number: int, chars: int) -> str:
        parts = [f"{self.holder} · {self.acct} · {number}. oldal" if self.lang == "hu"
                 else f"{self.holder} · {self.acct} · page {number}"]
        size = len(parts[0])
        while size < chars:
            if kind == "bank_statement" and self.rng.random() < .6:
                part = self.statement_lines(min(1200, chars - size))
            elif kind == "contract":
                part = f"{number}.{len(parts)}. {self.paragraph()}"
            else:
                part = self.paragraph()
            parts.append(part)
            size += len(part) + 2
        return "\n\n".join(parts)


def make_doc(seed: int, number: int, *, pages: int | None = None) -> Doc:
    """Return document ``number`` of the corpus ``seed``: PDF page counts by kind, or ``pages``."""
    rng = random.Random(f"{VERSION}:{seed}:{number}")
    kind = rng.choice(list(KINDS))
    lang = "hu" if rng.random() < .7 else "en"
    writer = _Writer(rng, lang)
    count = pages or min(rng.randint(*PAGES[kind]), rng.randint(*PAGES[kind]))
    texts = tuple(writer.page(kind, n, rng.randrange(2000, 4000)) for n in range(1, count + 1))
    doc_date = date(2019, 1, 1) + timedelta(days=rng.randrange(2555))
    tags = tuple(rng.sample(["hitel", "khr", "jelzálog", "lakáshitel", "személyi kölcsön",
                             "sürgős", "2024", "2025"], rng.randrange(0, 3)))
    title = f"{TITLES[lang][kind]} {doc_date:%Y-%m} {writer.holder}"
    return Doc(number, kind, lang, title, texts, doc_date, tags)


def text_docs(count: int, seed: int, start: int = 0) -> Iterator[Doc]:
    """Yield documents of 2-5 pages (about 10 KB of text each), for direct database inserts."""
    for number in range(start, start + count):
        yield make_doc(seed, number, pages=random.Random(f"p{seed}:{number}").randint(2, 5))


def write_pdf(doc: Doc, path: Path) -> None:
    """Write a document as a text PDF (DejaVu Sans 10 pt; long pages flow onto the next)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=10)
    pdf.set_title(doc.title)
    for text in doc.pages:
        pdf.add_page()
        pdf.multi_cell(0, 5, text)
    pdf.output(str(path))


def _write_one(job: tuple[int, int, str, str]) -> None:
    seed, number, suffix, path = job
    doc = make_doc(seed, number)
    tmp = Path(path + ".part")
    if suffix == "pdf":
        write_pdf(doc, tmp)
    else:  # a third of the plain-text files in the Windows code page, as old exports are
        tmp.write_bytes(doc.text.encode("cp1250" if number % 3 == 0 else "utf-8", "replace"))
    os.replace(tmp, path)


def files(count: int, seed: int, suffix: str = "pdf", progress=None) -> list[tuple[Path, Doc]]:
    """Return ``count`` cached files of the corpus (writing the missing ones) with their docs.

    Text files are numbered apart from the PDFs (from 1,000,000) so both can be had.
    """
    folder = ROOT / f"v{VERSION}-seed{seed}" / suffix
    folder.mkdir(parents=True, exist_ok=True)
    offset = 0 if suffix == "pdf" else 1_000_000
    numbers = range(offset, offset + count)
    paths = {n: folder / f"{n:07d}.{suffix}" for n in numbers}
    missing = [(seed, n, suffix, str(p)) for n, p in paths.items() if not p.exists()]
    if missing:
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for done, _ in enumerate(pool.map(_write_one, missing, chunksize=4), 1):
                if progress and (done % 25 == 0 or done == len(missing)):
                    progress(done, len(missing))
    return [(paths[n], make_doc(seed, n)) for n in numbers]
