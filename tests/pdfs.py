"""Build real test files: text PDFs (fpdf2 + DejaVu), scans, images and hostile PDFs.

The hostile generators write raw bytes with correct xref offsets, so pypdf takes the intended
path (the loop, the bomb) instead of falling back to repairing a broken file.
"""

from __future__ import annotations

import random
import zlib
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import EncryptionMethod
from PIL import Image, ImageDraw

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def make_pdf(
    path: Path, pages: list[str], *, title: str | None = None, password: str | None = None,
    aes: bool = False,
) -> Path:
    """Write a text PDF with one page per string; encrypt it (RC4, or AES-256) if a
    ``password`` is given."""
    # password="" encrypts with an empty user password (opens without asking), as many bank
    # statements do; any other string must be typed to open the file.
    if not FONT.exists():
        raise FileNotFoundError(f"{FONT} is missing (Debian package fonts-dejavu-core)")
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=12)
    if title is not None:
        pdf.set_title(title)
    if password is not None:
        method = EncryptionMethod.AES_256 if aes else EncryptionMethod.RC4
        pdf.set_encryption(owner_password="owner-secret", user_password=password,
                           encryption_method=method)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return Path(path)


def _picture(size: tuple[int, int] = (400, 300), mode: str = "RGB") -> Image.Image:
    """Draw a small picture with shapes and text-like strokes (no text layer anywhere)."""
    image = Image.new(mode, size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, size[0] - 20, 60), outline="black", width=3)
    for row in range(6):
        y = 90 + row * 30
        draw.line((30, y, size[0] - 40 - 25 * row, y), fill="black", width=4)
    return image


def make_scanned_pdf(path: Path) -> Path:
    """Write a one-page PDF holding only an image, as a scanner does."""
    pdf = FPDF()
    pdf.add_page()
    pdf.image(_picture((800, 1100), "L"), x=10, y=10, w=190)
    pdf.output(str(path))
    return Path(path)


def make_png(path: Path) -> Path:
    """Write a small PNG."""
    _picture().save(path, format="PNG")
    return Path(path)


def make_jpeg(path: Path) -> Path:
    """Write a small JPEG."""
    _picture().save(path, format="JPEG", quality=80)
    return Path(path)


def make_tiff(path: Path) -> Path:
    """Write a small TIFF."""
    _picture().save(path, format="TIFF")
    return Path(path)


# --- hostile files --------------------------------------------------------------------------


def _body(objects: dict[int, bytes], *, header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"):
    """Serialise numbered objects after ``header``: return the bytes and each object's offset."""
    out = bytearray(header)
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    return out, offsets


def _xref_section(offsets: dict[int, int], size: int) -> bytes:
    """Return a classic xref table covering objects 0 to ``size - 1``."""
    rows = [b"0000000000 65535 f \n"]
    rows += [
        b"%010d 00000 n \n" % offsets[n] if n in offsets else b"0000000000 65535 f \n"
        for n in range(1, size)
    ]
    return b"xref\n0 %d\n" % size + b"".join(rows)


def _finish(out: bytearray, offsets: dict[int, int]) -> bytes:
    """Append one xref table, the trailer and startxref; return the whole file."""
    size = max(offsets) + 1
    start = len(out)
    out += _xref_section(offsets, size)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, start)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    """Return a stream object holding ``data`` with a correct /Length."""
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _one_page(content: bytes) -> dict[int, bytes]:
    """Return the objects of a one-page document whose page content is object 4."""
    return {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        4: content,
        5: _FONT,
    }


def _deflate_repeated(pattern: bytes, total: int) -> bytes:
    """Return a zlib stream inflating to ``pattern`` repeated up to ``total`` bytes, cheaply."""
    # One megabyte is compressed once and its full-flushed (history-free) block repeated; the
    # Adler-32 trailer is computed over the real data, so strict decoders accept it too.
    chunk = (pattern * (2**20 // len(pattern) + 1))[: 2**20]
    count = max(1, total // len(chunk))
    first = zlib.compressobj(9)
    head = first.compress(chunk) + first.flush(zlib.Z_FULL_FLUSH)
    block = first.compress(chunk) + first.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(count):
        adler = zlib.adler32(chunk, adler)
    # b"\x03\x00": an empty final block with fixed Huffman codes.
    return head + block * (count - 1) + b"\x03\x00" + adler.to_bytes(4, "big")


def make_flate_bomb_pdf(path: Path, *, inflated_mb: int = 512) -> Path:
    """Write a PDF whose 1.5 MB content stream inflates to ``inflated_mb`` MB of text operators."""
    data = _deflate_repeated(b"BT /F1 12 Tf 72 700 Td (Bomba) Tj ET\n", inflated_mb * 2**20)
    out, offsets = _body(_one_page(_stream(data, b"/Filter /FlateDecode ")))
    Path(path).write_bytes(_finish(out, offsets))
    return Path(path)


def make_circular_prev_pdf(path: Path, *, cycle: int = 2) -> Path:
    """Write a PDF whose xref sections' /Prev chain loops (``cycle=1``: points at itself)."""
    content = _stream(b"BT /F1 12 Tf 72 700 Td (Circular) Tj ET")
    out, offsets = _body(_one_page(content))
    size = max(offsets) + 1
    # Every section has the same length, so each one's offset is known before writing.
    section_len = len(_xref_section(offsets, size))
    trailer_len = len(b"trailer\n<< /Size %d /Root 1 0 R /Prev %010d >>\n" % (size, 0))
    starts = [len(out) + i * (section_len + trailer_len) for i in range(cycle)]
    for i, start in enumerate(starts):
        assert len(out) == start
        out += _xref_section(offsets, size)
        prev = starts[(i + 1) % cycle]  # the last one points back to the first
        out += b"trailer\n<< /Size %d /Root 1 0 R /Prev %010d >>\n" % (size, prev)
    out += b"startxref\n%d\n%%%%EOF\n" % starts[0]
    Path(path).write_bytes(bytes(out))
    return Path(path)


def make_cyclic_page_tree_pdf(path: Path) -> Path:
    """Write a PDF whose page tree has a /Pages node listing the root as its kid."""
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        4: _stream(b"BT /F1 12 Tf 72 700 Td (Loop) Tj ET"),
        5: _FONT,
        6: b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 6 0 R] /Count 1 >>",
    }
    out, offsets = _body(objects)
    Path(path).write_bytes(_finish(out, offsets))
    return Path(path)


def make_endless_inline_image_pdf(path: Path, *, inflated_mb: int = 32) -> Path:
    """Write a PDF whose content opens an inline image (BI … ID) that never ends (no EI)."""
    # The image data is E after E: a reader scanning for "EI" stops at every byte. It is
    # deflated, so the file stays small while the stream is inflated_mb MB.
    prefix = b"BT /F1 12 Tf 72 700 Td (Endless) Tj ET\nq 100 0 0 100 72 500 cm\nBI /W 4 /H 4 ID "
    raw = zlib.decompress(_deflate_repeated(b"E", inflated_mb * 2**20))
    data = zlib.compress(prefix + raw, 9)
    del raw
    out, offsets = _body(_one_page(_stream(data, b"/Filter /FlateDecode ")))
    Path(path).write_bytes(_finish(out, offsets))
    return Path(path)


def make_garbage_pdf(path: Path, *, size: int = 64 * 1024, seed: int = 1) -> Path:
    """Write ``%PDF-1.7`` followed by random bytes."""
    rng = random.Random(seed)
    Path(path).write_bytes(b"%PDF-1.7\n" + rng.randbytes(size))
    return Path(path)
