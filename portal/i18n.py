"""Locale choice and the template filters that format money, dates and numbers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_eval_context
from jinja2.ext import Extension
from jinja2.lexer import Token
from jinja2.nodes import EvalContext
from jinja2.utils import LRUCache
from markupsafe import Markup

from portal.domain.money import Money, exponent, money_formatter

K = TypeVar("K")

#: Babel locale used to format numbers and dates for each interface language. English staff
#: in a Hungarian office read day-month-year, so English formats as en_GB.
FORMAT_LOCALES = {"hu": "hu_HU", "en": "en_GB"}
DATE_FORMATS = {"hu": "short", "en": "medium"}
#: Minutes are enough for an office: ``2026. 11. 28. 12:22`` and ``28 Nov 2026, 12:22``.
DATETIME_FORMATS = {"hu": "short", "en": "d MMM y, HH:mm"}


def select_locale() -> str:
    """Return the user's own language, else the one picked this session, else the browser's."""
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    if session.get("language") in languages:
        return session["language"]
    return request.accept_languages.best_match(languages) or languages[0]


def select_timezone() -> str:
    return current_app.config["DEFAULT_TIMEZONE"]


def _language() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def language() -> str:
    """Return the language of this request's pages ("hu" or "en")."""
    return _language()


def amount_text(minor: int | None, currency: str) -> str:
    """Write an amount into a form field as people of the user's language type it:
    ``1 200 000`` or ``1 200,50`` in Hungarian, ``1,200,000`` or ``1,200.50`` in English
    (``parse_amount`` reads all of them back)."""
    if minor is None:
        return ""
    hungarian = _language() == "hu"
    value = Money(minor, currency).as_decimal()
    whole = int(value)
    text = f"{whole:,}".replace(",", " ") if hungarian else f"{whole:,}"
    fraction = value - whole
    if fraction:
        digits = str(abs(fraction).quantize(Decimal(1).scaleb(-exponent(currency))))[2:]
        text += ("," if hungarian else ".") + digits
    return text


def office_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


def today() -> date:
    """Return today's date in the office's time zone."""
    return datetime.now(office_tz()).date()


def money(value: Money | None) -> str:
    """Format an amount for the user's locale (``format_money``'s text, through the cached
    formatter that is checked against Babel: pages show dozens of amounts)."""
    if value is None:
        return ""
    return money_formatter(value.currency, FORMAT_LOCALES[_language()])(value.minor)


def money_format(currency: str):
    """Return a fast function formatting minor units of ``currency`` for the user's locale
    (for pages with many amounts; the same text as ``money``)."""
    return money_formatter(currency, FORMAT_LOCALES[_language()])


def money_parts(minor: int | None, currency: str) -> str:
    return "" if minor is None else money(Money(minor, currency))


def date_filter(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    lang = _language()
    return format_date(value, DATE_FORMATS[lang], locale=FORMAT_LOCALES[lang])


def datetime_filter(value: datetime | None) -> str:
    if value is None:
        return ""
    lang = _language()
    return format_datetime(_local(value), DATETIME_FORMATS[lang], locale=FORMAT_LOCALES[lang])


def number(value: int | None) -> str:
    if value is None:
        return ""
    if type(value) is int and 0 <= value < 1000:  # no group separator yet, in either language
        return str(value)  # (a page count or a page number: Babel took 9 µs for each)
    return format_decimal(value, locale=FORMAT_LOCALES[_language()])


def decimal(value: float) -> str:
    """Format a display-only measurement (file sizes), never money."""
    return format_decimal(value, format="#,##0.#", locale=FORMAT_LOCALES[_language()])


def _local(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(office_tz())


def catalog():
    """Return the translations of the locale in force, looked up once per locale per request.

    Flask-Babel's own lookup walks the request context three times per string (a page has
    dozens of strings). The catalogue is kept beside the locale it belongs to, so a
    ``force_locale`` block (a letter in the client's language), which puts another locale
    object in place, gets its own.
    """
    state = g.get("_flask_babel") if g else None
    locale = getattr(state, "babel_locale", None)
    if locale is None:  # not chosen yet, or no request: Flask-Babel decides
        return get_translations()
    kept = getattr(state, "portal_catalog", None)
    if kept is None or kept[0] is not locale:
        kept = state.portal_catalog = (locale, get_translations())
    return kept[1]


def translated(labels: Mapping[K, Any]) -> dict[K, str]:
    """Return a mapping of lazy labels (``portal.labels``) translated into the language in
    force, worked out once per catalogue: a list shows the same few labels on every row, and
    each lazy label asks Flask-Babel for the locale again."""
    kept = catalog().__dict__.setdefault("portal_labels", {})
    entry = kept.get(id(labels))
    if entry is None or entry[0] is not labels:  # the mapping is kept too: its id stays its own
        entry = kept[id(labels)] = (labels, {key: str(label) for key, label in labels.items()})
    return entry[1]


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, /, **variables) -> str:
    """Jinja's "newstyle" ``gettext`` for templates, with the same result (a translation is
    safe markup where autoescaping is on, and always a format string: ``%%`` is ``%``).

    Jinja's own calls through the template context three times per string, and a page has
    dozens of them: here one call, and a string without variables is translated and
    formatted once per catalogue, not on every page.
    """
    translations = catalog()
    if eval_ctx.autoescape and not variables:
        done = translations.__dict__.setdefault("portal_markup", {})
        rv = done.get(string)
        if rv is None:
            rv = done[string] = Markup(translations.ugettext(string)) % {}
        return rv
    rv = translations.ugettext(string)
    return (Markup(rv) if eval_ctx.autoescape else rv) % variables


@pass_eval_context
def template_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, /,
                      **variables) -> str:
    """Jinja's "newstyle" ``ngettext`` (``num`` is a variable too), one call instead of three."""
    variables.setdefault("num", num)
    rv = catalog().ungettext(singular, plural, num)
    return (Markup(rv) if eval_ctx.autoescape else rv) % variables


def template_language() -> str | None:
    """Return the locale templates are compiled for at this moment (the one in force), or None
    when none is (no request and no ``force_locale``): nothing is translated while compiling
    then, and the strings are translated as the page renders."""
    if not g:
        return None
    locale = getattr(g.get("_flask_babel"), "babel_locale", None)
    if locale is None and has_request_context():  # chosen on the request's first template
        locale = get_locale()
    return str(locale) if locale else None


class TemplatesPerLanguage(LRUCache):
    """Jinja's cache of compiled templates, kept apart per language: ``FixedTranslations``
    puts a template's fixed strings into it already translated, so a template compiled for
    Hungarian must never be served to an English page."""

    def __getitem__(self, key):
        return super().__getitem__((template_language(), key))

    def __setitem__(self, key, value) -> None:
        super().__setitem__((template_language(), key), value)

    def __delitem__(self, key) -> None:
        super().__delitem__((template_language(), key))

    def __contains__(self, key) -> bool:
        return super().__contains__((template_language(), key))


#: What may stand just before a call this folds: not ``x._("…")`` nor ``x|_("…")``.
_NOT_A_CALL_AFTER = {"dot", "pipe"}


class FixedTranslations(Extension):
    """Translate ``_("…")`` and ``gettext("…")`` with one fixed string and nothing else while
    the template is compiled, into the language it is compiled for (``TemplatesPerLanguage``
    keeps the result apart). The page then holds the translation as text: no call and no
    escaping for it on each page and each row (a tenth of a client list page's time).

    The text is what ``template_gettext`` gives: safe markup, ``%%`` read as ``%``. Anything
    else (variables, a string made at render time, ``{% trans %}``) is left to run as it is;
    so is everything when no locale is in force.
    """

    def filter_stream(self, stream):
        translations = catalog() if template_language() else None
        tokens = list(stream)
        i = 0
        while i < len(tokens):
            token = tokens[i]
            text = self._fixed(tokens, i, translations)
            if text is None:
                yield token
                i += 1
                continue
            line = token.lineno  # ( "text"|safe ): an expression wherever the call was
            yield from (Token(line, "lparen", "("), Token(line, "string", text),
                        Token(line, "pipe", "|"), Token(line, "name", "safe"),
                        Token(line, "rparen", ")"))
            i += 4

    @staticmethod
    def _fixed(tokens: list, i: int, translations) -> str | None:
        """Return the translation if ``tokens[i:i+4]`` is ``_("…")`` standing alone."""
        if translations is None or i + 3 >= len(tokens):
            return None
        name, opening, string, closing = tokens[i:i + 4]
        if not (name.type == "name" and name.value in ("_", "gettext")
                and opening.type == "lparen" and string.type == "string"
                and closing.type == "rparen"):
            return None
        if i and tokens[i - 1].type in _NOT_A_CALL_AFTER:
            return None
        try:
            return translations.ugettext(string.value) % {}
        except (TypeError, ValueError, KeyError):  # not a plain string: left to run (and fail)
            return None


def init_app(app: Flask) -> None:
    """Register the formatting filters and the templates' translation functions."""
    app.jinja_env.filters.update(
        money=money, money_parts=money_parts, date=date_filter, datetime=datetime_filter,
        number=number,
    )
    # In place of Flask-Babel's (same behaviour, ``catalog`` instead of its lookup); then the
    # most used three by faster ones.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext,
                                 ngettext=template_ngettext)
    app.jinja_env.add_extension(FixedTranslations)
    app.jinja_env.cache = TemplatesPerLanguage(400)
