"""Outgoing notification mail through `CRM_SMTP_URL`.

`smtp://[user:password@]host[:port]` (add `?starttls=on` for STARTTLS) or
`smtps://...` for TLS from the start.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


def send_mail(url: str, sender: str, recipients: list[str], subject: str, body: str) -> None:
    """Send one plain-text message to `recipients`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("CRM_SMTP_URL must start with smtp:// or smtps://")
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=30)
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=30)
    with client:
        if parts.scheme == "smtp" and parse_qs(parts.query).get("starttls", ["off"])[0] == "on":
            client.starttls()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message.set_content(body)
        client.send_message(message)
