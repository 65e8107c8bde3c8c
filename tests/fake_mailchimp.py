"""A fake Mailchimp Marketing API v3 on loopback: the calls the CRM makes, recorded.

It keeps an audience's members by subscriber hash, answers the batch upsert,
archive and permanent delete as Mailchimp documents them, checks the API key, and
can be told to answer the next calls with an error (429 with Retry-After, 500...).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_KEY = "0123456789abcdef0123456789abcdef-us21"
AUDIENCE = "a1b2c3d4e5"


@dataclass
class Call:
    method: str
    path: str
    body: dict | None


@dataclass
class FakeMailchimp:
    members: dict[str, dict] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    #: Answers to give instead of the real one, first to last: (status, headers).
    failures: list[tuple[int, dict]] = field(default_factory=list)
    forgotten: set[str] = field(default_factory=set)

    def fail_next(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.failures.extend([(status, headers)] * times)

    def member(self, address: str) -> dict | None:
        return self.members.get(hashlib.md5(address.lower().encode()).hexdigest())

    def status_of(self, address: str) -> str | None:
        member = self.member(address)
        return member["status"] if member else None

    def calls_to(self, method: str, fragment: str = "") -> list[Call]:
        return [c for c in self.calls if c.method == method and fragment in c.path]

    # -- the API -------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        body = request.get_json(silent=True)
        self.calls.append(Call(request.method, request.path, body))
        response = self.answer(request, body)
        return response(environ, start_response)

    def answer(self, request: Request, body: dict | None) -> Response:
        auth = request.authorization
        if auth is None or auth.password != API_KEY:
            return _problem(401, "API Key Invalid")
        if self.failures:
            status, headers = self.failures.pop(0)
            return _problem(status, "Too Many Requests" if status == 429 else "Server Error",
                            headers)
        parts = request.path.strip("/").split("/")  # 3.0 lists {id} [members {hash} ...]
        if parts[:2] != ["3.0", "lists"] or len(parts) < 3 or parts[2] != AUDIENCE:
            return _problem(404, "Resource Not Found")
        if len(parts) == 3 and request.method == "POST":
            return self.batch(body or {})
        if len(parts) == 3 and request.method == "GET":
            return Response(json.dumps({"id": AUDIENCE, "name": "Asiakkaat"}),
                            content_type="application/json")
        if len(parts) >= 5 and parts[3] == "members":
            member_hash = parts[4]
            if member_hash not in self.members:
                return _problem(404, "Resource Not Found")
            if len(parts) == 5 and request.method == "DELETE":
                self.members[member_hash]["status"] = "archived"
                return Response(status=204)
            if parts[5:] == ["actions", "delete-permanent"] and request.method == "POST":
                del self.members[member_hash]
                self.forgotten.add(member_hash)
                return Response(status=204)
        return _problem(405, "Method Not Allowed")

    def batch(self, body: dict) -> Response:
        created, updated, errors = [], [], []
        for member in body.get("members", []):
            address = member["email_address"]
            member_hash = hashlib.md5(address.lower().encode()).hexdigest()
            if member_hash in self.forgotten:
                errors.append({"email_address": address, "error_code": "ERROR_CONTACT_EXISTS",
                               "error": f"{address} was permanently deleted"})
                continue
            if "@" not in address:
                errors.append({"email_address": address, "error_code": "ERROR_GENERIC",
                               "error": f"{address} looks fake or invalid"})
                continue
            existing = self.members.get(member_hash)
            if existing is not None and not body.get("update_existing"):
                errors.append({"email_address": address, "error_code": "ERROR_CONTACT_EXISTS",
                               "error": "exists"})
                continue
            record = {**(existing or {}), **member, "id": member_hash}
            self.members[member_hash] = record
            (updated if existing else created).append(record)
        return Response(json.dumps({
            "new_members": created, "updated_members": updated, "errors": errors,
            "total_created": len(created), "total_updated": len(updated),
            "error_count": len(errors)}), content_type="application/json")


def _problem(status: int, title: str, headers: dict | None = None) -> Response:
    return Response(json.dumps({"type": "about:blank", "title": title, "status": status,
                                "detail": "details may quote an address"}),
                    status=status, content_type="application/problem+json",
                    headers=headers or {})


class FakeMailchimpServer:
    """The fake on a free 127.0.0.1 port, in a thread, for a `with` block."""

    def __init__(self) -> None:
        self.fake = FakeMailchimp()
        self.server = make_server("127.0.0.1", 0, self.fake, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       name="fake-mailchimp", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/3.0"

    def __enter__(self) -> FakeMailchimpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
