"""How large a request each route takes (DESIGN §11): larger ones are refused unread.

`MAX_CONTENT_LENGTH` (config) is the limit of every route but those named here: the
purchased-list upload takes a list of up to `CRM_IMPORT_MAX_MB`, and the public
callback form, which anyone may post to, no more than its fields can hold. A request
past its route's limit is answered 413 before its body is read: the limit is set
before the CSRF check, the first to read a form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Flask, current_app, request

KB = 1024
MB = 1024 * KB
#: Room beside the uploaded file for the upload form's other fields and the multipart
#: framing: the file itself is measured against `CRM_IMPORT_MAX_MB` by the view.
UPLOAD_FORM_ROOM = 1 * MB
#: The callback form's fields hold some 4,800 characters (crm.services.callbacks); sent
#: URL-encoded, a character takes up to 12 bytes.
CONTACT_FORM_MAX = 100 * KB

#: endpoint -> its limit in bytes, from the app's config.
LIMITS: dict[str, Callable[[Mapping], int]] = {
    "PurchasedListImportView.upload":
        lambda config: config["CRM_IMPORT_MAX_MB"] * MB + UPLOAD_FORM_ROOM,
    "public.contact": lambda config: CONTACT_FORM_MAX,
}


def route_limit() -> int | None:
    """Return the limit of the request's route, or None for the app's own."""
    limit = LIMITS.get(request.endpoint or "")
    return limit(current_app.config) if limit else None


def _set_limit() -> None:
    limit = route_limit()
    if limit is not None:
        request.max_content_length = limit


def init_app(app: Flask) -> None:
    """Set each request's limit; call before anything that reads a form (CSRFProtect)."""
    app.before_request(_set_limit)
