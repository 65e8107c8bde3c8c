"""Mailchimp's webhook: `/webhooks/mailchimp?secret=...` (DESIGN §9.8).

Mailchimp posts a form (type=unsubscribe|cleaned|..., data[email], data[list_id])
and, when the webhook is registered, sends a GET to check the URL. The secret is
`CRM_MAILCHIMP_WEBHOOK_SECRET`, compared in constant time; it is a query parameter,
not part of the path, because the access log records paths only. Without the
setting the endpoint does not exist. No CSRF token: Mailchimp cannot have one, the
secret stands in for it. Handled events are audited without values.
"""

from __future__ import annotations

import hmac
import logging

from flask import abort, current_app, request

from crm.extensions import db
from crm.models.base import utcnow
from crm.public import bp
from crm.services.audience import record_unsubscribe

log = logging.getLogger(__name__)

#: Events that end marketing to the address: the person unsubscribed, or the address
#: bounced hard or reported abuse ("cleaned").
UNSUBSCRIBING = ("unsubscribe", "cleaned")


@bp.route("/webhooks/mailchimp", methods=["GET", "POST"])
def mailchimp_webhook():
    secret = current_app.config.get("CRM_MAILCHIMP_WEBHOOK_SECRET")
    if not secret:
        abort(404)
    given = request.args.get("secret", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("mailchimp webhook: wrong secret; refused")
        abort(403)
    if request.method == "GET":
        return "", 200  # Mailchimp checks the URL when the webhook is registered
    event = request.form.get("type", "")
    address = request.form.get("data[email]", "").strip()
    list_id = request.form.get("data[list_id]")
    audience = current_app.config.get("CRM_MAILCHIMP_AUDIENCE_ID")
    if event not in UNSUBSCRIBING or not address:
        log.info("mailchimp webhook: %s event ignored", event[:30] or "empty")
        return "", 200
    if audience and list_id and list_id != audience:
        log.warning("mailchimp webhook: an event of another audience ignored")
        return "", 200
    marked = record_unsubscribe(db.session, address, how=event, now=utcnow())
    log.info("mailchimp webhook: %s, %d contacts marked unsubscribed", event, marked)
    return "", 200


def _exempt_from_csrf(state) -> None:
    state.app.extensions["csrf"].exempt(mailchimp_webhook)


bp.record_once(_exempt_from_csrf)
