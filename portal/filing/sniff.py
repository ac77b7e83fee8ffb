"""What an upload really is: its type judged from its content, and what its name claims.

Only PDF, PNG, JPEG, TIFF and plain text are filed. Plain text means text that is not markup
or code: an HTML page, XML, SVG or a script is refused even when every byte of it is
printable, because a browser or another program would treat it as more than text. A name that
claims one of the accepted kinds (``invoice.pdf``) must match the content; a name that claims a
kind that is never filed (``page.html``, ``tool.exe``) is refused whatever the content.
"""

from __future__ import annotations

import codecs
import re

ACCEPTED = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/tiff": ".tif",
    "text/plain": ".txt",
}
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/tiff"})

#: Readers (Acrobat among them) accept ``%PDF-`` anywhere in the first 1024 bytes; so do we,
#: otherwise a PDF with a mail or scanner header in front would be refused as "unknown".
PDF_HEADER_WINDOW = 1024

#: What a file name's extension claims the file is.
CLAIMS = {
    **dict.fromkeys(["pdf"], "application/pdf"),
    **dict.fromkeys(["png"], "image/png"),
    **dict.fromkeys(["jpg", "jpeg", "jpe", "jfif"], "image/jpeg"),
    **dict.fromkeys(["tif", "tiff"], "image/tiff"),
    **dict.fromkeys(["txt", "text", "csv", "tsv", "log", "asc"], "text/plain"),
}
#: Extensions of kinds that are never filed, whatever the content looks like.
NEVER = frozenset({
    "htm", "html", "xhtml", "shtml", "mht", "mhtml", "xml", "xsl", "xslt", "svg", "svgz",
    "js", "mjs", "jsx", "ts", "vbs", "vbe", "wsf", "hta", "ps1", "psm1", "bat", "cmd", "sh",
    "bash", "zsh", "py", "pl", "rb", "php", "phtml", "jsp", "asp", "aspx", "cgi", "exe", "dll",
    "com", "scr", "msi", "jar", "swf", "lnk", "url", "desktop", "reg", "css", "json", "rtf",
})

#: Markup and code that mark a text as something else. Looked for anywhere in the text,
#: case-insensitively; a letter after ``<`` makes ``a < b`` in a letter harmless.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|frame|object|embed|applet|meta"
    rb"|link|style|base|form|img|math|xml|xsl|template)\b"
    rb"|<\?(?:xml|php)|<!\[cdata\[|<!entity"
    rb"|<[a-z][^>]*\son[a-z]+\s*=",  # any tag with an event handler (<a onclick=...>)
    re.IGNORECASE,
)
#: A script's first line (``#!/bin/sh``).
_SHEBANG = re.compile(rb"\A(?:\xef\xbb\xbf)?#!\s*/")


def sniff(head: bytes) -> str | None:
    """Return the accepted MIME type that ``head`` (a file's first 8 KB) really is, or None.

    A text that is markup or a script is None, like any other kind that is not filed.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if b"%PDF-" in head[:PDF_HEADER_WINDOW]:
        return "application/pdf"
    if head and _looks_like_text(head) and not is_markup(head):
        return "text/plain"
    return None


def is_markup(data: bytes) -> bool:
    """Tell whether text is markup (HTML, XML, SVG) or a script rather than plain text."""
    if _SHEBANG.match(data):
        return True
    return bool(_MARKUP.search(data))


def claimed_type(name: str) -> str | None:
    """Return what a file name claims to be: an accepted MIME type, ``"never"`` for a kind
    that is never filed, or None when the name claims nothing we know (no extension)."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return None
    extension = extension.strip().lower()
    if extension in NEVER:
        return "never"
    return CLAIMS.get(extension)


def _looks_like_text(head: bytes) -> bool:
    """Tell whether ``head`` is text: UTF-8, cp1250 or Latin-2, no NUL, nearly all printable."""
    if b"\x00" in head:
        return False
    for codec in ("utf-8-sig", "cp1250", "iso-8859-2"):  # Latin-2 decodes any byte
        try:  # incremental: a character cut at the end of the 8 KB does not count against it
            text = codecs.getincrementaldecoder(codec)().decode(head, final=False)
            break
        except UnicodeDecodeError:
            continue
    if not text:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r\f")
    return printable >= 0.95 * len(text)
