"""Extract the text of an upload without trusting the file.

PDFs are parsed by pypdf in a child process forked from a multiprocessing *forkserver* that
has pypdf (and this module) preloaded: forking from the single-threaded forkserver is safe in
a multi-threaded parent, and a child costs a fork instead of an interpreter start. Inside a
daemonic process (a multiprocessing Pool worker), which may not have such children, the child
is a fresh interpreter running this file instead. The child lowers its own limits
(``RLIMIT_AS``, ``RLIMIT_CPU``, ``RLIMIT_FSIZE``, no core files) and pypdf's
(``pypdf.apply_configuration``), writes its result to a private temporary file and exits; the
parent waits at most ``timeout`` seconds of wall clock, then kills it.

As with any forkserver, the main module must be import-safe (``if __name__ == "__main__"``),
and a gunicorn master must not call ``extract`` before it forks its workers.
"""

from __future__ import annotations

import codecs
import json
import logging
import math
import multiprocessing
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import types
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: pypdf's own limits in the child, tighter than its defaults (75 MB per stream); the memory
#: and CPU limits are the backstop for whatever these do not cover.
PYPDF_LIMITS = {
    **dict.fromkeys(
        ["maximum_declared_stream_length", "array_based_stream_maximum_output_length",
         "zlib_maximum_output_length", "lzw_maximum_output_length",
         "run_length_maximum_output_length", "brotli_maximum_output_length",
         "jbig2_maximum_output_length", "image_maximum_buffer_size"],
        50_000_000,
    ),
    "stream_decoding_work_maximum_length": 200_000_000,
    "jbig2dec_binary": None,  # never run an external decoder on an upload
    "disable_legacy_handling": True,  # we set no legacy module constants
}

_EXIT_MEMORY = 77
_start_lock = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


@dataclass(frozen=True)
class Extraction:
    status: str  # "text" | "no_text" | "encrypted" | "unreadable"
    text: str
    pages: int | None
    reason: str | None


def normalise(text: str) -> str:
    """Return ``text`` without NULs and control characters, spaces collapsed, paragraphs kept."""
    text = unicodedata.normalize("NFC", text.replace("\x00", ""))
    text = re.sub(r"\r\n?|[\u2028\u2029\x85]", "\n", text)
    text = text.replace("\f", "\n\n")
    text = re.sub(r"[\x01-\x08\x0b\x0e-\x1f\x7f]", " ", text)
    text = re.sub(r"[^\S\n]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def extract(path: Path, mime: str, *, timeout: float = 8.0, memory_mb: int = 768,
            max_pages: int = 2000, max_chars: int = 5_000_000) -> Extraction:
    """Extract the text of ``path`` of (sniffed) type ``mime``; never raise because of the file."""
    # Imported here, not at the top: the PDF child may run this file as a fresh interpreter
    # that should not import the portal.
    from portal.filing.sniff import ACCEPTED, IMAGE_TYPES

    if mime not in ACCEPTED:
        raise ValueError(f"not an accepted type: {mime!r}")
    path = Path(path)
    try:
        if mime == "text/plain":
            return _extract_text_file(path, max_chars)
        if mime in IMAGE_TYPES:
            # OCR hook: no OCR yet. If it comes (e.g. when shutil.which("tesseract")), run it
            # like the PDF child below: own process, time and memory limits, same statuses.
            return Extraction("no_text", "", None, "image (no OCR)")
        return _extract_pdf(path, timeout, memory_mb, max_pages, max_chars)
    except Exception as exc:  # the portal keeps the upload even if extraction breaks
        log.exception("text extraction of %s failed", path)
        return Extraction("unreadable", "", None, f"extraction failed: {type(exc).__name__}")


def _extract_text_file(path: Path, max_chars: int) -> Extraction:
    """Decode a text file as UTF-8 (BOM allowed) or else cp1250, at most ``max_chars``."""
    try:
        with path.open("rb") as fh:
            data = fh.read(4 * max_chars + 4)
    except OSError as exc:
        return Extraction("unreadable", "", None, f"cannot read file: {exc.strerror}")
    from portal.filing.sniff import is_markup

    if is_markup(data):  # the first 8 KB were sniffed; markup further in counts too
        return Extraction("unreadable", "", None, "markup")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=False)
    except UnicodeDecodeError:
        text = data.decode("cp1250", errors="replace")
    text = normalise(text)[:max_chars]
    return Extraction("text" if text else "no_text", text, None, None)


def bare_pdf_text(path: Path) -> str:
    """Return a PDF's text with plain pypdf in this process (for benchmarks only: no limits)."""
    import pypdf

    with pypdf.PdfReader(path) as reader:
        return "\n\n".join(page.extract_text() for page in reader.pages)


def _forkserver() -> multiprocessing.context.BaseContext:
    """Return the forkserver context, preloading pypdf on first use (call under the lock)."""
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        # pypdf imports these only at its first extraction, i.e. in every child.
        lazy = ["pypdf.filters", "pypdf._codecs._codecs", "encodings.utf_16_be"]
        ctx.set_forkserver_preload(["__main__", "pypdf", *lazy, __name__, *_main_imports()])
        _context = ctx
    return _context


def _main_imports() -> list[str]:
    """Name the modules a main *script* imported at its top (e.g. gunicorn.app.wsgiapp)."""
    # Python 3.11's forkserver ignores "__main__" in the preload list (CPython gh-126631), so
    # each child re-runs a main script: with its imports preloaded that costs ~1 ms, not
    # ~0.1 s. Only modules, classes and functions are looked at, by type(): a getattr on a
    # proxy (flask.current_app) could raise.
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        return []  # "python -m x": children skip re-running it anyway
    names = []
    for value in list(vars(main).values()):
        kind = type(value)
        if kind is types.ModuleType:
            names.append(value.__name__)
        elif kind in (types.FunctionType, types.BuiltinFunctionType) or issubclass(kind, type):
            names.append(getattr(value, "__module__", None))
    return [n for n in dict.fromkeys(names) if isinstance(n, str) and "main__" not in n]


def _extract_pdf(path: Path, timeout: float, memory_mb: int, max_pages: int,
                 max_chars: int) -> Extraction:
    """Run the PDF child with limits and turn however it ended into an Extraction."""
    # The result goes next to the file (a staged upload lives in the storage's private temp
    # folder), named after it, so a leftover of a killed worker is found and removed with it.
    fd, out_path = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".out", dir=path.parent)
    os.close(fd)
    try:
        child = _start_child((str(path), out_path, timeout, memory_mb, max_pages, max_chars))
        code = _wait(child, max(timeout, 0.0))
        killed = code is None
        if killed:
            child.kill()
            code = _wait(child, 5.0)
        if code is None:  # not even SIGKILL worked (yet): leave it, never hang the caller
            log.error("PDF child %s for %s survived SIGKILL", child.pid, path)
            return Extraction("unreadable", "", None, "timed out")
        if isinstance(child, multiprocessing.process.BaseProcess):
            with _start_lock:
                child.close()
        # The result file first: multiprocessing may misreport the exit code (255) when
        # another thread's Process.start() polls this child at the same moment.
        result = None if killed else _read_result(out_path, path, max_chars)
        if result is None:
            reason = _reason_for_exit(code, killed)
            log.warning("PDF extraction of %s: %s", path, reason)
            return Extraction("unreadable", "", None, reason)
        return result
    finally:
        os.unlink(out_path)


def _start_child(args: tuple) -> multiprocessing.process.BaseProcess | subprocess.Popen:
    """Fork the PDF child from the forkserver, or run this file if forking is not allowed."""
    if multiprocessing.current_process().daemon:
        # multiprocessing refuses children to daemonic processes (Pool workers): pay for a
        # fresh interpreter (~0.1 s) that runs this file, without importing the portal.
        command = [sys.executable, "-I", os.path.abspath(__file__), json.dumps(args)]
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    with _start_lock:
        proc = _forkserver().Process(target=_pdf_child, args=args, daemon=True)
        proc.start()
    return proc


def _wait(child: multiprocessing.process.BaseProcess | subprocess.Popen, timeout: float):
    """Wait up to ``timeout`` seconds for the child; return its exit code or None."""
    if isinstance(child, subprocess.Popen):
        try:
            return child.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
    child.join(timeout)
    return child.exitcode


def _reason_for_exit(code: int, killed: bool) -> str:
    """Describe how a child that left no result ended."""
    if code == 0:
        return "crashed (no result)"
    if killed or code in (-signal.SIGXCPU, -signal.SIGKILL):
        return "timed out"
    if code == _EXIT_MEMORY:
        return "too much memory"
    if code < 0:
        return f"crashed ({signal.strsignal(-code) or -code})"
    return f"crashed (exit code {code})"


def _read_result(out_path: str, path: Path, max_chars: int) -> Extraction | None:
    """Read the child's result file (JSON header line, UTF-8 text); None if incomplete."""
    with open(out_path, "rb") as fh:
        try:
            head = json.loads(fh.readline(65536))
        except ValueError:
            return None
        data = fh.read(4 * max_chars + 4)
    if len(data) != head["bytes"]:
        return None
    text = data.decode("utf-8", errors="replace")[:max_chars]
    for message in head.get("warnings", []):
        log.debug("pypdf on %s: %s", path, message)
    return Extraction(head["status"], text, head["pages"], head["reason"])


# --- everything below runs in the child process -------------------------------------------


def _pdf_child(path: str, out_path: str, timeout: float, memory_mb: int, max_pages: int,
               max_chars: int) -> None:
    """Limit this process, extract the PDF and write the result file (child entry point)."""
    try:
        cpu = max(1, math.ceil(timeout))
        _set_limit(resource.RLIMIT_CPU, cpu, cpu + 1)
        _set_limit(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
        _set_limit(resource.RLIMIT_CORE, 0)
        _set_limit(resource.RLIMIT_FSIZE, 4 * max_chars + 1024 * 1024)
        result = _read_pdf(path, max_pages, max_chars)
        text = result.pop("text").encode("utf-8", "replace")
        result.update(warnings=result["warnings"][:20], bytes=len(text))
        with open(out_path, "wb") as fh:
            fh.write(json.dumps(result).encode() + b"\n" + text)
    except MemoryError:
        os._exit(_EXIT_MEMORY)


def _set_limit(which: int, soft: int, hard: int | None = None) -> None:
    """Lower a resource limit, never above the current hard limit."""
    current = resource.getrlimit(which)[1]
    hard = soft if hard is None else hard
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(which, (soft, hard))


class _Collect(logging.Handler):
    """Keep pypdf's log messages for the parent instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < 100:
            self.messages.append(record.getMessage()[:300])


def _malformed(exc: BaseException | None) -> str:
    """Describe why pypdf gave up."""
    return f"malformed PDF: {type(exc).__name__}: {exc}"[:200]


def _read_pdf(path: str, max_pages: int, max_chars: int) -> dict:
    """Extract text with pypdf under its limits: status, text, pages, reason, warnings."""
    import pypdf
    from pypdf.errors import DependencyError

    said = _Collect()
    pypdf_log = logging.getLogger("pypdf")
    pypdf_log.propagate = False
    pypdf_log.addHandler(said)
    out = {"status": "unreadable", "text": "", "pages": None, "reason": None}
    encrypted = False
    with warnings.catch_warnings(record=True) as caught, pypdf.apply_configuration(**PYPDF_LIMITS):
        warnings.simplefilter("always")
        try:
            reader = pypdf.PdfReader(path, strict=False)
            encrypted = reader.is_encrypted
            # The reader has tried the empty user password already; ask again to be explicit.
            if encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
                out.update(status="encrypted", reason="needs a password")
            else:
                out["pages"] = len(reader.pages)
                out.update(_read_pages(reader.pages, max_pages, max_chars))
        except DependencyError as exc:  # AES needs the ``cryptography`` package
            aes = encrypted or _needs_aes(exc)
            out.update(status="encrypted" if aes else "unreadable", reason=str(exc)[:200])
        except RecursionError:
            out["reason"] = "malformed PDF: nested too deeply"
        except MemoryError:
            raise
        except Exception as exc:
            out["reason"] = _malformed(exc)
    said.messages += [f"{w.category.__name__}: {w.message}"[:300] for w in caught[:20]]
    return {**out, "warnings": said.messages}


def _needs_aes(exc: BaseException) -> bool:
    """Tell whether pypdf failed for want of an AES implementation (an encrypted file)."""
    from pypdf.errors import DependencyError

    return isinstance(exc, DependencyError) and "AES" in str(exc)


def _read_pages(pages, max_pages: int, max_chars: int) -> dict:
    """Extract page by page; skip a page pypdf fails on, stop at the page or character limit."""
    texts: list[str] = []
    total, failed, first_error = 0, 0, None
    for number in range(min(len(pages), max_pages)):
        try:
            page_text = normalise(pages[number].extract_text())
        except Exception as exc:  # one bad page does not sink the others
            if isinstance(exc, MemoryError) or _needs_aes(exc):
                raise
            failed, first_error = failed + 1, first_error or exc
            continue
        texts.append(page_text)
        total += len(page_text) + 2
        if total >= max_chars:
            break
    if failed and not texts:
        return {"status": "unreadable", "reason": _malformed(first_error)}
    text = "\n\n".join(t for t in texts if t)[:max_chars]
    notes = [f"{failed} of {len(pages)} pages unreadable"] if failed else []
    if len(pages) > max_pages:
        notes.append(f"only the first {max_pages} pages read")
    if total >= max_chars:
        notes.append(f"cut at {max_chars} characters")
    if not text and not notes:
        notes.append("no text layer")
    status = "text" if text else "no_text"
    return {"status": status, "text": text, "reason": "; ".join(notes) or None}


if __name__ == "__main__":  # the child, when started as a fresh interpreter
    _pdf_child(*json.loads(sys.argv[1]))
