"""Error pages in the reader's language instead of Werkzeug's English ones.

A role without access to a screen (403), a record or address that does not exist
(404) and a request the CRM cannot take (400, say a form sent with an expired
token) get a page in the CRM's own layout that says what happened and what to do.
The status codes stay. The REST API under /api/ (FAB's token sign-in and menu) and
callers that ask for JSON rather than HTML get JSON, `{"message": ...}` in English as
FAB's API answers its own errors. Other machine clients (the webhook, anything not
asking for HTML) keep Werkzeug's short answers.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

PAGES = {
    400: (_l("The request could not be handled"),
          _l("The form may have expired or been sent twice. Go back, reload the page and "
             "try again.")),
    403: (_l("No access"),
          _l("Your role does not give access to this page. If your work needs it, ask "
             "the register owner (the Privacy role).")),
    404: (_l("Not found"),
          _l("There is no such page or record: it may have been removed, or the address "
             "is mistyped.")),
}
#: Paths whose callers are programs, not people reading pages.
MACHINE_PATHS = ("/webhooks/", "/api/", "/health")
#: Paths that answer in JSON whatever the caller accepts.
JSON_PATHS = ("/api/",)


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
        return response
    if (error.code not in PAGES or request.path.startswith(MACHINE_PATHS)
            or not request.accept_mimetypes.accept_html):
        return error
    title, text = PAGES[error.code]
    appbuilder = current_app.appbuilder
    return render_template("crm/error.html", title=title, text=text, code=error.code,
                           appbuilder=appbuilder,
                           base_template=appbuilder.base_template), error.code


def init_app(app: Flask) -> None:
    # Every HTTP error, so the API's 405s and 500s are JSON too; pages for PAGES only.
    app.register_error_handler(HTTPException, _error_page)


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
