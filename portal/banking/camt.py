"""ISO 20022 camt.053 (bank-to-customer statement) read safely into transactions.

The XML goes through defusedxml with DTDs forbidden: a document type declaration, an entity
(billion laughs) or an external reference refuses the whole file before anything expands or
is fetched. The size is checked before parsing. Element names are compared without their
namespace, so camt.053.001.02 to .08 (and later versions with the same shape) read alike.

Per entry (``Ntry``): ``CdtDbtInd`` gives the sign (credits positive), ``Amt``/``@Ccy`` the
amount (exact decimals, never float; more decimals than the currency has is an error),
``BookgDt/Dt`` or ``BookgDt/DtTm`` the date (``ValDt`` when the bank gives no booking date).
Pending and information-only entries (``Sts`` PDNG, INFO, FUTR) are skipped and counted. An
entry with several ``TxDtls`` (a batch booking) gives one transaction per detail when each has
its own amount and they add up to the entry's (an error when they do not); without amounts it
stays one transaction. The counterparty is the debtor (or ultimate debtor) of a credit and the
creditor of a debit; the reference is the ``Ustrd`` lines and ``Strd`` references joined, or
the payer's ``EndToEndId`` when there is nothing else. A reversal (``RvslInd`` true) is signed
as booked, since its ``CdtDbtInd`` already points the other way, and is marked as one; its
``EndToEndId`` (kept on every transaction) is the original payment's.

Ids: the entry's ``AcctSvcrRef``, else its ``NtryRef``, else the detail's ``AcctSvcrRef`` or
``TxId``, else a content hash (:func:`portal.banking.model.content_id`). A batch's parts get
their own ``AcctSvcrRef``, else ``<entry id>/<TxId or position in the batch>``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XmlSyntaxError

import defusedxml
from defusedxml.ElementTree import fromstring

from portal.banking.model import (
    BankTransaction,
    Collector,
    Parsed,
    StatementRejected,
    collapse,
    content_id,
    normalise_account,
)
from portal.banking.values import exact_money
from portal.domain.money import Money, MoneyError

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d+")
_DECIMAL = re.compile(r"(\d+)(?:\.(\d+))?")
_NOT_BOOKED = {"PDNG", "INFO", "FUTR"}
_UNIT = "entry"


class _EntryError(ValueError):
    """One entry that cannot be read; the message is shown to the user."""


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Element, name: str) -> Iterator[Element]:
    return (child for child in element if _local(child.tag) == name)


def _findall(element: Element | None, path: str) -> list[Element]:
    """Return the elements at ``path`` (local names separated by ``/``) below ``element``."""
    found = [element] if element is not None else []
    for name in path.split("/"):
        found = [child for parent in found for child in _children(parent, name)]
    return found


def _find(element: Element | None, path: str) -> Element | None:
    found = _findall(element, path)
    return found[0] if found else None


def _text(element: Element | None, *paths: str) -> str:
    """Return the collapsed text of the first of ``paths`` that has some."""
    for path in paths:
        for found in _findall(element, path):
            text = collapse(found.text)
            if text:
                return text
    return ""


def _load(data: bytes, max_bytes: int) -> Element:
    if len(data) > max_bytes:
        raise StatementRejected(f"the file is larger than {max_bytes} bytes")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden as exc:
        raise StatementRejected("the XML declares a DTD; statements never need one") from exc
    except defusedxml.EntitiesForbidden as exc:
        raise StatementRejected("the XML declares entities; refused") from exc
    except defusedxml.DefusedXmlException as exc:
        raise StatementRejected(f"the XML refers to something outside it; refused ({exc})") from exc
    except XmlSyntaxError as exc:
        raise StatementRejected(f"not well-formed XML: {exc}") from exc
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if _local(root.tag) != "Document" or _find(root, "BkToCstmrStmt") is None:
        raise StatementRejected("not a camt.053 bank statement (no BkToCstmrStmt)")
    if namespace and not _NAMESPACE.fullmatch(namespace):
        raise StatementRejected(f"not a camt.053 statement (namespace {namespace})")
    return root


def _amount(element: Element | None, fallback_currency: str) -> Money:
    if element is None:
        raise _EntryError("no amount")
    text = collapse(element.text)
    currency = (element.get("Ccy") or fallback_currency).strip().upper()
    match = _DECIMAL.fullmatch(text)
    if not match:
        raise _EntryError(f"amount {text!r} is not a decimal number")
    try:
        return exact_money(match[1], match[2] or "", currency, False, text)
    except MoneyError as exc:
        raise _EntryError(str(exc)) from exc


def _signed(money: Money, indicator: str) -> Money:
    if indicator == "CRDT":
        return money
    if indicator == "DBIT":
        return Money(-money.minor, money.currency)
    raise _EntryError(f"credit/debit indicator {indicator or 'missing'} (CRDT or DBIT expected)")


def _booked_on(entry: Element) -> date:
    text = _text(entry, "BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm")
    if not text:
        raise _EntryError("no booking date")
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise _EntryError(f"booking date {text!r} is not a date") from exc


def _reference(details: Element | None) -> str:
    parts = [collapse(u.text) for u in _findall(details, "RmtInf/Ustrd")]
    for structured in _findall(details, "RmtInf/Strd"):
        parts.append(_text(structured, "CdtrRefInf/Ref"))
        parts.extend(collapse(n.text) for n in _findall(structured, "RfrdDocInf/Nb"))
        parts.extend(collapse(a.text) for a in _findall(structured, "AddtlRmtInf"))
    reference = " ".join(part for part in parts if part)
    if not reference:
        end_to_end = _text(details, "Refs/EndToEndId")
        if end_to_end.upper() != "NOTPROVIDED":
            reference = end_to_end
    return reference


def _party(details: Element | None, credit: bool) -> tuple[str, str]:
    role = "Dbtr" if credit else "Cdtr"
    name = _text(
        details,
        f"RltdPties/{role}/Nm",
        f"RltdPties/{role}/Pty/Nm",
        f"RltdPties/Ultmt{role}/Nm",
        f"RltdPties/Ultmt{role}/Pty/Nm",
    )
    account = _text(details, f"RltdPties/{role}Acct/Id/IBAN", f"RltdPties/{role}Acct/Id/Othr/Id")
    return name, normalise_account(account)


def _end_to_end(details: Element | None) -> str:
    """Return the payer's end-to-end id, or "" (also for the placeholder NOTPROVIDED)."""
    text = _text(details, "Refs/EndToEndId")
    return "" if text.upper() == "NOTPROVIDED" else text[:140]


def _part_amount(details: Element, indicator: str, currency: str) -> Money | None:
    """Return a batch part's own signed amount, or None when the bank gives none."""
    element = _find(details, "Amt")
    if element is None:
        element = _find(details, "AmtDtls/TxAmt/Amt")
    if element is None:
        return None
    return _signed(_amount(element, currency), _text(details, "CdtDbtInd") or indicator)


def _entry_transactions(entry: Element, currency: str, seen: Counter) -> list[BankTransaction]:
    """Return the transactions of one ``Ntry``: one, or one per ``TxDtls`` of a batch.

    A batch's parts are kept apart only when each has its own amount and they add up to the
    entry's; parts without amounts make one transaction of the whole entry.
    """
    status = _find(entry, "Sts")
    code = (_text(status, "Cd") or collapse(status.text)) if status is not None else "BOOK"
    if code.upper() in _NOT_BOOKED:
        return []
    indicator = _text(entry, "CdtDbtInd")
    entry_amount = _signed(_amount(_find(entry, "Amt"), currency), indicator)
    booked_on = _booked_on(entry)
    entry_id = _text(entry, "AcctSvcrRef", "NtryRef")
    raw = _text(entry, "AddtlNtryInf", "BkTxCd/Prtry/Cd", "BkTxCd/Domn/Fmly/SubFmlyCd")
    reversal = _text(entry, "RvslInd").lower() in ("true", "1")
    parts = _findall(entry, "NtryDtls/TxDtls")

    def make(details: list[Element | None], amount: Money, transaction_id: str) -> BankTransaction:
        parties = {_party(d, amount.minor >= 0) for d in details}
        name, account = parties.pop() if len(parties) == 1 else ("", "")
        reference = " ".join(r for r in (_reference(d) for d in details) if r)
        if not transaction_id:
            transaction_id = content_id(booked_on, amount, account, name, reference, seen)
        own_raw = _text(details[0], "AddtlTxInf") if len(details) == 1 else ""
        ends = {_end_to_end(d) for d in details}
        return BankTransaction(
            transaction_id=transaction_id,
            booked_on=booked_on,
            amount=amount,
            counterparty_name=name,
            counterparty_account=account,
            reference=reference,
            raw=(own_raw or raw)[:200],
            reversal=reversal,
            end_to_end_id=ends.pop() if len(ends) == 1 else "",
        )

    amounts = [_part_amount(part, indicator, currency) for part in parts]
    if len(parts) > 1 and all(amount is not None for amount in amounts):
        if any(a.currency != entry_amount.currency for a in amounts) or sum(
            a.minor for a in amounts
        ) != entry_amount.minor:
            raise _EntryError("the batch's transactions do not add up to the entry's amount")
        result = []
        for number, (part, amount) in enumerate(zip(parts, amounts, strict=True), start=1):
            # The part's own bank reference, else the entry's with the part's TxId (or its
            # place in the batch) after a slash.
            bank_ref, tx_id = _text(part, "Refs/AcctSvcrRef"), _text(part, "Refs/TxId")
            transaction_id = bank_ref or (f"{entry_id}/{tx_id or number}" if entry_id else tx_id)
            result.append(make([part], amount, transaction_id))
        return result
    transaction_id = entry_id
    if len(parts) == 1:
        transaction_id = entry_id or _text(parts[0], "Refs/AcctSvcrRef", "Refs/TxId")
    return [make(parts or [None], entry_amount, transaction_id)]


def parse_camt053(data: bytes, *, max_bytes: int = 20_000_000) -> Parsed:
    """Read a camt.053 statement; a bad entry is reported by its number, the rest are kept.

    Raises :class:`StatementRejected` for a file too large, hostile or not a camt.053.
    """
    root = _load(data, max_bytes)
    collector = Collector()
    seen: Counter = Counter()
    number = 0
    for statement in _findall(root, "BkToCstmrStmt/Stmt"):
        currency = _text(statement, "Acct/Ccy") or "HUF"
        for entry in _children(statement, "Ntry"):
            number += 1
            try:
                transactions = _entry_transactions(entry, currency, seen)
            except _EntryError as exc:
                collector.error(number, str(exc), _UNIT)
                continue
            if not transactions:
                collector.skipped += 1
            for transaction in transactions:
                collector.add(number, transaction, _UNIT)
    return collector.result()
