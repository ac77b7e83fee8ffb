"""Hungarian and English: language choice, catalogs in use, locale formatting."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.domain.permissions import Role
from portal.models import AuditEvent
from tests.conftest import make_client, post


def test_login_page_follows_accept_language(app):
    client = app.test_client()
    hu = client.get("/login", headers={"Accept-Language": "hu-HU,hu;q=0.9,en;q=0.5"})
    en = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="hu"' in hu.get_data(as_text=True)
    assert "Bejelentkezés" in hu.get_data(as_text=True)
    assert '<html lang="en"' in en.get_data(as_text=True)
    assert "Log in" in en.get_data(as_text=True)


def test_anonymous_language_switch_overrides_the_browser(app):
    client = app.test_client()
    post(client, "/account/language", {"language": "en", "next": "/login"},
         token_from="/login")
    html = client.get("/login", headers={"Accept-Language": "hu"}).get_data(as_text=True)
    assert '<html lang="en"' in html


def test_users_own_choice_wins_over_the_browser(app, db, staff, as_role):
    staff.clerk.language = "hu"
    db.commit()
    clerk = as_role(Role.CLERK)
    html = clerk.get("/clients/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="hu"' in html and "Ügyfelek" in html
    post(clerk, "/account/language", {"language": "en", "next": "/clients/"})
    db.expire_all()
    assert staff.clerk.language == "en"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.language"))
    assert event.details == {"language": ["hu", "en"]}
    html = clerk.get("/clients/", headers={"Accept-Language": "hu"}).get_data(as_text=True)
    assert '<html lang="en"' in html and ">Clients<" in html


def test_language_switch_only_redirects_locally(app):
    client = app.test_client()
    response = post(client, "/account/language", {"language": "hu",
                                                  "next": "https://evil.example/"},
                    token_from="/login")
    assert response.headers["Location"] == "/"


def test_money_dates_and_numbers_follow_the_locale(app, db, staff, as_role):
    row = make_client(db, "Pénz Péter", income_minor=1_234_567, income_currency="HUF",
                      onboarding_due=date(2026, 11, 28))
    staff.clerk.language = "hu"
    db.commit()
    hu = as_role(Role.CLERK).get(f"/clients/{row.id}").get_data(as_text=True)
    assert "1\u00a0234\u00a0567\u00a0Ft" in hu
    assert "2026. 11. 28." in hu
    en = as_role(Role.COORDINATOR).get(f"/clients/{row.id}").get_data(as_text=True)
    assert "HUF\u00a01,234,567" in en
    assert "28 Nov 2026" in en


def test_euro_income_keeps_its_cents(app, db, staff, as_role):
    row = make_client(db, "Euro Emma", income_minor=250_050, income_currency="EUR")
    en = as_role(Role.COORDINATOR).get(f"/clients/{row.id}").get_data(as_text=True)
    assert "€\u00a02,500.50" in en


def test_form_errors_are_translated(app, db, staff, as_role):
    staff.clerk.language = "hu"
    db.commit()
    response = post(as_role(Role.CLERK), "/clients/new", {"kind": "person", "name": "",
                                                         "status": "prospect",
                                                         "income_currency": "HUF"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This field is required." not in html
    assert "Ez a mező kötelező." in html  # WTForms' own Hungarian catalog


def test_error_pages_are_translated(app, db, staff, as_role):
    staff.clerk.language = "hu"
    db.commit()
    html = as_role(Role.CLERK).get("/no-such-page").get_data(as_text=True)
    assert "Not found" not in html and '<html lang="hu"' in html


def test_templates_follow_a_forced_locale_and_return_to_the_users(app):
    # The templates' catalogue is kept per request; a letter rendered in the client's language
    # (force_locale) must get that language's strings, and the page the user's again after.
    from flask import render_template_string
    from flask_babel import force_locale

    page = '{{ _("Clients") }}|{{ ngettext("%(count)s client", "%(count)s clients", 2, count=2) }}'
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        before = render_template_string(page)
        with force_locale("hu"):
            forced = render_template_string(page)
        after = render_template_string(page)
    assert before == after == "Clients|2 clients"
    assert forced == "Ügyfelek|2 ügyfél"


_TEMPLATE_STRINGS = [
    '{{ _("Clients") }}|{{ gettext("Clients") }}',
    '{{ _("Page %(page)s of %(pages)s", page=2, pages="<b>3</b>") }}',
    '{% for n in (1, 2) %}{{ ngettext("%(count)s client", "%(count)s clients", n, count=n) }}'
    '|{{ ngettext("%(num)s client", "%(num)s clients", n) }}{% endfor %}',
    '{{ _("Fully 100%% <sure>") }}',
    '{% trans %}Clients{% endtrans %}|{% trans n=3 %}{{ n }} client{% pluralize %}'
    '{{ n }} clients{% endtrans %}',
    '{% autoescape false %}{{ _("Page %(page)s of %(pages)s", page=1, pages="<i>") }}'
    '|{{ _("Clients") }}{% endautoescape %}',
    '{{ (_("Clients") ~ "<x>") }}|{{ _("Clients")|length }}',
    '{% set x = _("Clients") %}{{ x }}|{{ _("Clients")[0] }}|{{ _("Clients")|upper }}'
    '|{{ [_("Clients"), _("Reports")]|join(", ") }}|{{ gettext("Reports") }}',
    '{{ own._("Clients") }}|{{ _("Cli" "ents") }}|{% if _("Clients") %}yes{% endif %}',
    '{% macro m(label=_("Clients")) %}{{ label }}{% endmacro %}{{ m() }}|{{ m(_("Reports")) }}',
]


def _stock_environment(app):
    """Jinja with its own newstyle gettext, no folding: what the portal's templates must equal."""
    from jinja2 import Environment

    from portal.i18n import catalog

    stock = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    stock.filters.update(app.jinja_env.filters)
    stock.install_gettext_callables(lambda s: catalog().ugettext(s),
                                    lambda s, p, n: catalog().ungettext(s, p, n), newstyle=True)
    return stock


def test_the_portals_template_translation_gives_what_jinjas_gives(app):
    # portal.i18n translates fixed strings while compiling (FixedTranslations) and replaces
    # Jinja's newstyle gettext and ngettext for the rest; the output must be exactly Jinja's,
    # escaping and "%%" included.
    from types import SimpleNamespace

    from flask import render_template_string

    stock = _stock_environment(app)
    own = SimpleNamespace(_=lambda text: f"own <{text}>")
    for language in ("hu", "en"):
        with app.test_request_context("/", headers={"Accept-Language": language}):
            for source in _TEMPLATE_STRINGS:
                ours = render_template_string(source, own=own)
                theirs = stock.from_string(source).render(own=own)
                assert ours == theirs, source
                assert ours == render_template_string(source, own=own)  # kept strings, again
    assert ours == theirs == "Clients|Reports"  # the last case, in English


def test_fixed_strings_are_translated_when_compiling_and_kept_per_language(app):
    from flask import render_template
    from flask_babel import force_locale

    source = ('<td data-label="{{ _(\'Clients\') }}">'
              '{{ _("Page %(page)s of %(pages)s", page=1, pages=2) }}')
    with app.test_request_context("/", headers={"Accept-Language": "hu"}):
        code = app.jinja_env.compile(source, raw=True)
        assert "Ügyfelek" in code  # the text itself is in the compiled template: no call
        assert "oldal" not in code  # a string with variables is translated as the page renders
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = render_template("_language.html", csrf_token="t", language_next="/",
                                  current_language="en")
        with force_locale("hu"):
            forced = app.jinja_env.from_string(source).render()
        again = render_template("_language.html", csrf_token="t", language_next="/",
                                current_language="en")
    with app.test_request_context("/", headers={"Accept-Language": "hu"}):
        hungarian = render_template("_language.html", csrf_token="t", language_next="/",
                                    current_language="hu")
    assert english == again and "Magyar" in english and "English" in hungarian
    assert forced == '<td data-label="Ügyfelek">1. oldal (összesen 2)'


def test_a_template_compiled_for_one_language_is_never_served_in_another(app, db, staff,
                                                                        as_role):
    # One template, two languages, one process: each page in its reader's language.
    staff.clerk.language = "hu"
    db.commit()
    make_client(db, "Kovács Eszter")
    hungarian, english = as_role(Role.CLERK), as_role(Role.MANAGER)
    for _round in range(2):
        hu = hungarian.get("/clients/").get_data(as_text=True)
        en = english.get("/clients/").get_data(as_text=True)
        assert 'data-label="Név"' in hu and "<h1>Ügyfelek</h1>" in hu and "Clients</h1>" not in hu
        assert "<h1>Clients</h1>" in en and "Ügyfelek" not in en


def test_translated_labels_follow_the_language_in_force(app):
    from flask_babel import force_locale

    from portal.i18n import translated
    from portal.labels import STATUS_LABELS
    from portal.models import ClientStatus

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert translated(STATUS_LABELS)[ClientStatus.ACTIVE] == "Active"
        with force_locale("hu"):
            assert translated(STATUS_LABELS)[ClientStatus.ACTIVE] == "Aktív"
        assert translated(STATUS_LABELS)[ClientStatus.ACTIVE] == "Active"
        # Each mapping its own: a mapping made for the moment is not taken for another one.
        for word in ("Clients", "Reports", "Users"):
            assert translated({1: word}) == {1: word}


def test_small_numbers_read_as_babel_writes_them(app):
    # portal.i18n.number skips Babel below a thousand; Babel must agree in both languages.
    from babel.numbers import format_decimal

    from portal.i18n import FORMAT_LOCALES, number

    for language, locale in FORMAT_LOCALES.items():
        with app.test_request_context("/", headers={"Accept-Language": language}):
            assert [number(v) for v in range(1200)] == [
                format_decimal(v, locale=locale) for v in range(1200)]
            assert number(-5) == format_decimal(-5, locale=locale)
