"""Error pages in the reader's language instead of Werkzeug's English ones.

A role without access to a screen (403), a record or address that does not exist
(404), an address opened that only a form's button posts to (405, its Allow header
kept), a request the CRM cannot take (400, say a form sent with an expired
token) and one past a rate limit (429, the sign-in form's, with Retry-After) get
a page in the CRM's own layout that says what happened and what to do. The status
codes stay. The REST API under /api/ (FAB's token sign-in and menu) and
callers that ask for JSON rather than HTML get JSON, `{"message": ...}` in English as
FAB's API answers its own errors. Other machine clients (the webhook, anything not
asking for HTML) keep Werkzeug's short answers.

An unexpected error (a 500) gets the same page, once Flask has given up on it: when
exceptions propagate (tests, debugging) they still do, tracebacks and all. Its log
entry names the error's kind and where it happened, not its message, which may quote
a name or an address from the register.

A list's address names its page and page size (`page_ContactView=2`,
`psize_ContactView=50`), which FAB reads with int(): anything else was a 500, and any
page size a list of every row. A page or page size that is not a whole number, or a
page past `MAX_PAGE`, is refused with a 400 that says so; a page size past
`MAX_PAGE_SIZE` is sent on to the same address at that size, so the pages shown and
the paging links agree.

A signed-in user refused a screen, record, export or API endpoint (a 403, however FAB
or the CRM answered it) is recorded in the audit trail (`audit_refusal`): who, the
method and the path, never the query string, which may hold what was searched.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from urllib.parse import quote, urlencode

from flask import Flask, current_app, g, jsonify, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException

from crm.extensions import db
from crm.security.login import CrmAuthDBView, CrmSecurityApi
from crm.services.audit import record_refusal
from crm.views.interface import MAX_PAGE, MAX_PAGE_SIZE

log = logging.getLogger(__name__)

PAGES = {
    400: (_l("The request could not be handled"),
          _l("The form may have expired or been sent twice. Go back, reload the page and "
             "try again.")),
    403: (_l("No access"),
          _l("Your role does not give access to this page. Roles come from your groups "
             "at the company's sign-in service: if your work needs this page, ask your "
             "manager or the IT service desk.")),
    404: (_l("Not found"),
          _l("There is no such page or record: it may have been removed, or the address "
             "is mistyped.")),
    # An address opened for what only a form's button does (a download, a step).
    405: (_l("This address cannot be opened like this"),
          _l("This address is used by a button on one of the CRM's pages, not opened by "
             "itself. Go back to the page and use its button.")),
    # A rate limit (the sign-in form's): the answer says when to try again (Retry-After).
    429: (_l("Too many attempts"),
          _l("Too many attempts have come from your address in a short time. Wait a "
             "moment and try again.")),
    # A request past its size limit (crm.security.request_size), refused unread.
    413: (_l("Too much data was sent"),
          _l("The form or file sent was larger than the CRM takes, so nothing was saved. "
             "Go back, shorten the text or choose a smaller file, and try again.")),
    500: (_l("Something went wrong"),
          _l("The page could not be shown because of an error in the CRM. The error has "
             "been logged. Go back and try again; if it happens again, tell the CRM's "
             "administrator what you were doing.")),
}
#: Paths whose callers are programs, not people reading pages.
MACHINE_PATHS = ("/webhooks/", "/api/", "/health")
#: Paths that answer in JSON whatever the caller accepts.
JSON_PATHS = ("/api/",)


#: FAB reads a list's page from any argument whose name holds "page_", its page size
#: from any holding "psize_" (flask_appbuilder.urltools.get_page_args).
PAGE_ARG, PAGE_SIZE_ARG = "page_", "psize_"


class UnreadableListAddress(BadRequest):
    """A list's address whose page or page size is not a whole number it can show."""

    title = _l("The address could not be read")
    text = _l("The page number or page size in the address is not a whole number the list "
              "can show. Open the list again from the menu.")


def _check_list_address():
    """Refuse an unreadable page or page size; bring a page size past the cap down to it."""
    if request.path.startswith(MACHINE_PATHS):
        return None
    capped = False
    args = []
    for name, value in request.args.items(multi=True):
        page, size = PAGE_ARG in name, PAGE_SIZE_ARG in name
        if page or size:
            try:
                number = int(value)
            except ValueError:
                raise UnreadableListAddress() from None
            if number < 0 or (page and number > MAX_PAGE):
                raise UnreadableListAddress()
            if size and number > MAX_PAGE_SIZE:
                value, capped = str(MAX_PAGE_SIZE), True
        args.append((name, value))
    if capped and request.method in ("GET", "HEAD"):
        path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~")
        return redirect(f"{path}?{urlencode(args)}")
    return None  # a post's list (if any) is capped where it is read (CrmSQLAInterface)


def _wants_json() -> bool:
    if request.path.startswith(JSON_PATHS):
        return True
    accept = request.accept_mimetypes
    # "*/*" (curl and the like) prefers neither: it keeps the answer it had.
    return (accept.best_match(("text/html", "application/json")) == "application/json"
            and accept["application/json"] > accept["text/html"])


def _error_page(error: HTTPException):
    if error.response is not None:  # an answer made by whoever raised the error
        return error
    if _wants_json():
        response = jsonify(message=error.name)
        response.status_code = error.code
        # Werkzeug's own headers (Allow on a 405, WWW-Authenticate, Retry-After) stay.
        response.headers.extend((name, value) for name, value in error.get_headers()
                                if name.lower() != "content-type")
        if error.code == 429 and "Retry-After" not in response.headers:
            response.headers.extend(_retry_after())
        return response
    if (error.code not in PAGES or request.path.startswith(MACHINE_PATHS)
            or not request.accept_mimetypes.accept_html):
        return error
    title, text = getattr(error, "title", None), getattr(error, "text", None)
    if not (title and text):
        title, text = PAGES[error.code]
    if error.code >= 500:
        return _server_error_page(error, title, text)
    body, code = _render(error.code, title, text)
    # Werkzeug's own headers (Allow on a 405) stay, as on its own page.
    headers = [(name, value) for name, value in error.get_headers()
               if name.lower() != "content-type"]
    if error.code == 429 and not any(name.lower() == "retry-after" for name, _ in headers):
        headers += _retry_after()
    return body, code, headers


def _retry_after() -> list[tuple[str, str]]:
    """Return a 429's Retry-After: when the limit that refused the request lets the next
    one in (Flask-Limiter sets it too, where its headers are on)."""
    limiter = getattr(current_app.appbuilder.sm, "limiter", None)
    limit = limiter.current_limit if limiter is not None else None
    if limit is None:
        return []
    return [("Retry-After", str(max(1, int(limit.reset_at - time.time()))))]


def _render(code: int, title, text):
    appbuilder = current_app.appbuilder
    if "user" not in g:
        # Refused before FAB's own before_request set it (Flask-WTF's CSRF check): the
        # page's menu reads g.user.
        g.user = current_user
    return render_template("crm/error.html", title=title, text=text, code=code,
                           appbuilder=appbuilder,
                           base_template=appbuilder.base_template), code


def _server_error_page(error: HTTPException, title, text):
    """Render the 500 page after a failed request, or Werkzeug's if that fails too.

    The failed request's transaction is rolled back first: whatever the page reads (its
    menu, the user) is not refused by a transaction PostgreSQL has aborted.
    """
    try:
        db.session.rollback()
        return _render(error.code, title, text)
    except Exception as failed:  # its message is left out, as in `log_exception`
        log.error("The error page could not be shown either: %s", type(failed).__qualname__)
        return error


def log_exception(exc_info) -> None:
    """Log an unexpected error by its kind and traceback, without its message.

    Replaces Flask's, which logs the request's path and the error's message: a
    database error's message quotes the values of the statement, names and addresses.
    """
    kind, error, tb = exc_info
    lines = [f"Unexpected error {kind.__module__}.{kind.__qualname__} in "
             f"{request.endpoint or 'no endpoint'} ({request.method})\n"]
    lines += traceback.format_tb(tb)
    cause = (error.__cause__ or error.__context__) if error is not None else None
    while cause is not None and len(lines) < 200:
        kind = type(cause)
        lines.append(f"caused by {kind.__module__}.{kind.__qualname__}\n")
        lines += traceback.format_tb(cause.__traceback__)
        cause = cause.__cause__ or cause.__context__
    log.error("".join(lines).rstrip())


#: Paths whose refusals are not the CRM's permission checks: the webhook's secret, the
#: liveness probe, files.
NOT_AUDITED_PATHS = ("/webhooks/", "/health", "/static/")
#: The sign-in pages record their own refusals (`login_refused`, crm.security.login).
SIGN_IN_BLUEPRINTS = (CrmAuthDBView.__name__, CrmSecurityApi.__name__)
_RULE_PART = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def refused_path() -> str:
    """Return the refused request's path as its route names it: a number in the path (a
    record's id) as it is, any other part by the route's name for it
    ("/contactview/download/<filename>"), which could be anything typed."""
    rule, args = request.url_rule, request.view_args or {}
    if rule is None:
        return request.path

    def part(match: re.Match) -> str:
        value = args.get(match[1])
        return str(value) if str(value).isdigit() else f"<{match[1]}>"

    return _RULE_PART.sub(part, rule.rule)


def audit_refusal(response):
    """Record a signed-in user's 403 in the audit trail (once a minute per user and path).

    Runs after the answer is made (FAB's 403 from `has_access`, its API's, the CRM's
    own `abort(403)`): whatever goes wrong here is logged, and the answer goes out.
    """
    if (response.status_code != 403 or request.path.startswith(NOT_AUDITED_PATHS)
            or request.blueprint in SIGN_IN_BLUEPRINTS):
        return response
    try:
        # FAB's user of the request: the session's, or an API token's.
        user = g.get("user") or current_user
        if not getattr(user, "is_authenticated", False):  # sent to sign in, not refused
            return response
        actor = (user.id, user.username)
        # A refused request changed nothing: what its transaction holds is not kept.
        db.session.rollback()
        record_refusal(db.session, actor, request.method, refused_path())
    except Exception as failed:  # its message may quote the statement's values
        log.error("A refused request could not be recorded in the audit trail: %s",
                  type(failed).__qualname__)
        try:
            db.session.rollback()
        except Exception:  # the connection itself is gone: the next request gets another
            log.error("The session could not be rolled back either")
    return response


def init_app(app: Flask) -> None:
    # Every HTTP error, so the API's 405s and 500s are JSON too; pages for PAGES only.
    # An unexpected error reaches the handler as a 500 (InternalServerError) only when
    # Flask does not propagate it: tests and the debugger still see the exception.
    app.register_error_handler(HTTPException, _error_page)
    app.log_exception = log_exception
    app.before_request(_check_list_address)
    app.after_request(audit_refusal)


class ExpiredFormOnScreen:
    """A view mixin: a form posted with a stale or missing CSRF token (the session ended
    while the page was open) is answered by the view's own `csrf_refused`, on its own
    screen, instead of the app-wide 400 page. The app-wide check refuses the post before
    the view runs, so nothing has been done."""

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        blueprint = super().create_blueprint(appbuilder, endpoint=endpoint,
                                             static_folder=static_folder)
        blueprint.register_error_handler(CSRFError, self.csrf_refused)
        return blueprint

    def csrf_refused(self, error: CSRFError):
        raise NotImplementedError
