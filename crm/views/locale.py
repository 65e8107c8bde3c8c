"""The language menu, which keeps the reader on their page, and each language's formats.

English pages write dates the British way (22/11/2026, a 24-hour clock), as the staff of a
Finnish company expect, not Babel's `en` (US: 11/22/26, 2:30 PM); their forms show and
read dates so too (crm.views.dates). The UI language stays
"en" (the menu, the session); only the Babel locale that formats and translates is
en_GB, whose translations gettext finds in the "en" catalogs.
"""

from __future__ import annotations

from flask import Flask, abort, redirect, request, session, url_for
from flask_appbuilder import AppBuilder, expose
from flask_appbuilder.babel.views import LocaleView
from flask_appbuilder.views import UtilView
from flask_babel import get_locale, refresh

from crm.security.redirects import safe_return_path

#: UI language -> the Babel locale that writes its dates and numbers.
FORMATTING_LOCALES = {"en": "en_GB"}
#: The command line's: English words with ISO 8601 dates and a 24-hour clock
#: (2026-11-25, 14:30), for scripts and people alike. CLDR's English in Sweden writes
#: them so; its translations are the "en" catalogs, as for en_GB.
COMMAND_LINE_LOCALE = "en_SE"


def formatting_locale(language: str | None) -> str | None:
    """Return the Babel locale for pages in `language` ("en" -> "en_GB")."""
    return FORMATTING_LOCALES.get(language, language) if language else language


def page_language() -> str:
    """Return the page's language as HTML's `lang` wants it ("fi", "en")."""
    locale = get_locale()
    return locale.language if locale else "fi"


def current_page() -> str:
    """Return the path and query string of the page being rendered."""
    query = request.query_string.decode("ascii", "replace")
    return request.script_root + request.path + (f"?{query}" if query else "")


class CrmLocaleView(LocaleView):
    """FAB's language switch, returning to the page named by `?next=` when it is safe.

    FAB's own goes back through its page history, which most CRM screens do not keep,
    so the reader lands on the home page. A GET is fine: it changes only how pages are
    shown to this session.
    """

    @expose("/<string:locale>")
    def index(self, locale):
        if locale not in self.appbuilder.bm.languages:
            abort(404, description="Locale not supported.")
        session["locale"] = locale
        refresh()
        target = safe_return_path(request.args.get("next"))
        return redirect(target or self.appbuilder.get_url_for_index)


class CrmAppBuilder(AppBuilder):
    """FAB's AppBuilder with the CRM's language switch (`CrmLocaleView`), and English
    pages formatted as en_GB (`FORMATTING_LOCALES`)."""

    def init_app(self, app: Flask, db_session) -> None:
        super().init_app(app, db_session)
        babel = app.extensions["babel"]
        choose_language = babel.locale_selector  # FAB's: the session's UI language
        babel.locale_selector = lambda: formatting_locale(choose_language())
        # <html lang> of the CRM's override of FAB's appbuilder/init.html
        app.jinja_env.globals["page_language"] = page_language

    def _add_admin_views(self) -> None:
        # FAB 5.3's own, with CrmLocaleView in place of `self.bm.register_views()`, which
        # would add FAB's LocaleView at the same URL (tests/test_i18n.py checks the list).
        if self.indexview:
            self._indexview = self.add_view_no_menu(self.indexview)
        self.add_view_no_menu(UtilView)
        self.bm.locale_view = self.add_view_no_menu(CrmLocaleView)
        self.sm.register_views()
        self.openapi_manager.register_views()
        self.menuapi_manager.register_views()

    def get_url_for_locale(self, lang: str) -> str:
        """Return the language menu's link to `lang`, naming the page it is shown on."""
        return url_for(f"{self.bm.locale_view.endpoint}.{self.bm.locale_view.default_view}",
                       locale=lang, next=current_page())
