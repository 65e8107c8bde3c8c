"""Request size limits (DESIGN §11): a body past its route's limit is refused unread."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from crm.models import CallbackRequest
from crm.security.request_size import CONTACT_FORM_MAX, MB
from tests.conftest import csrf_token, login

MULTIPART = "multipart/form-data; boundary=xyz"


class CountingStream(io.RawIOBase):
    """A body of `size` bytes made on demand: a multipart form with one huge file part,
    that counts how much of it the app read."""

    def __init__(self, size: int) -> None:
        self.head = (b'--xyz\r\nContent-Disposition: form-data; name="message"; '
                     b'filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n')
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        if n <= 0:
            return 0
        start = self.read_bytes
        chunk = (self.head[start:start + n] if start < len(self.head) else b"")
        chunk += b"x" * (n - len(chunk))
        buffer[:n] = chunk
        self.read_bytes += n
        return n


def _post_huge(client, path: str, size: int = 100 * MB):
    stream = CountingStream(size)
    response = client.post(path, headers={"Accept": "text/html"}, environ_overrides={
        "wsgi.input": stream, "CONTENT_LENGTH": str(size), "CONTENT_TYPE": MULTIPART})
    return response, stream


def _callbacks(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(CallbackRequest))


def test_a_huge_anonymous_post_to_the_contact_form_is_refused_unread(client, session):
    response, stream = _post_huge(client, "/contact?lang=en")
    assert response.status_code == 413
    assert stream.read_bytes == 0
    html = response.get_data(as_text=True)
    assert "too long" in html and 'id="contact-form"' in html  # the form, in English
    assert _callbacks(session) == 0


def test_the_contact_forms_refusal_is_in_the_pages_language(client):
    response, _ = _post_huge(client, "/contact?lang=fi", size=2 * MB)
    assert response.status_code == 413
    assert "liian pitkät" in response.get_data(as_text=True)


def test_a_long_message_is_refused_by_its_field_not_echoed_in_megabytes(client, session):
    token = csrf_token(client, "/contact?lang=en")
    data = {"name": "Test Person", "email": "test.person@example.com", "consent": "y",
            "csrf_token": token}
    too_long = client.post("/contact?lang=en", data={**data, "message": "x" * 4001})
    assert too_long.status_code == 400
    assert "At most 4000 characters." in too_long.get_data(as_text=True)
    huge = client.post("/contact?lang=en", data={**data, "message": "x" * (2 * MB)})
    assert huge.status_code == 413
    assert len(huge.get_data()) < CONTACT_FORM_MAX
    assert _callbacks(session) == 0


def test_a_post_past_the_limit_gets_the_crms_error_page_in_the_users_language(client):
    login(client, "sales")
    response, stream = _post_huge(client, "/contactview/add", size=5 * MB)
    assert response.status_code == 413 and stream.read_bytes == 0
    html = response.get_data(as_text=True)
    assert 'data-status="413"' in html and '<html lang="fi">' in html


@pytest.mark.parametrize("size_mb, status", [(3, 303), (60, 303)])
def test_the_list_upload_takes_large_files_and_refuses_larger_on_its_screen(
        app, client, size_mb, status):
    """A list of 100,000 lines is some 10 MB: the upload takes it past the forms' limit.
    One past `CRM_IMPORT_MAX_MB` (50) is refused unread, with the screen's message."""
    login(client, "marketing")
    response, stream = _post_huge(client, "/imports/upload", size=size_mb * MB)
    if size_mb < app.config["CRM_IMPORT_MAX_MB"]:
        # Read through (and refused for its missing CSRF token, not for its size).
        assert response.status_code != 413 and stream.read_bytes == size_mb * MB
    else:
        assert response.status_code == 303 and stream.read_bytes == 0
        page = client.get(response.location).get_data(as_text=True)
        assert "50 Mt" in page or "50 MB" in page
