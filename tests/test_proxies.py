"""Behind proxies (`CRM_TRUSTED_PROXIES`): whose address the rate limits count."""

from __future__ import annotations

import re

import pytest

from config import TestConfig
from crm import create_app
from tests.test_contact_form import VALID

PROXY = "10.0.0.2"


def _limited_app(db_url, proxies: int):
    config = TestConfig(db_url)
    config.RATELIMIT_ENABLED = True
    config.CRM_CONTACT_RATE_LIMIT = "2 per minute"
    config.CRM_TRUSTED_PROXIES = proxies
    return create_app(config)


def _posts(app, client_address: str, times: int) -> list[int]:
    """Post the callback form `times` through the proxy, for the client at the address."""
    client = app.test_client()
    through_proxy = {"headers": {"X-Forwarded-For": client_address},
                     "environ_base": {"REMOTE_ADDR": PROXY}}
    html = client.get("/contact?lang=en", **through_proxy).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    # Without a name: refused by the checks (400) unless the limit refuses first (429).
    return [client.post("/contact?lang=en", data={**VALID, "name": "", "csrf_token": token},
                        **through_proxy).status_code for _ in range(times)]


def test_without_trusted_proxies_the_forwarded_address_is_ignored(db_url):
    """Anyone can send X-Forwarded-For: by default it changes nothing, so a client cannot
    dodge the limit by naming a new address with each post."""
    app = _limited_app(db_url, 0)
    assert _posts(app, "198.51.100.1", 2) == [400, 400]
    assert _posts(app, "198.51.100.2", 1) == [429]


def test_behind_one_trusted_proxy_each_client_has_its_own_limit(db_url):
    app = _limited_app(db_url, 1)
    assert _posts(app, "198.51.100.1", 3) == [400, 400, 429]
    assert _posts(app, "198.51.100.2", 2) == [400, 400]


def test_behind_one_trusted_proxy_the_scheme_is_the_proxys(db_url):
    app = _limited_app(db_url, 1)
    seen = {}

    @app.get("/_scheme_probe")
    def probe():
        from flask import request
        seen["scheme"], seen["addr"] = request.scheme, request.remote_addr
        return ""

    app.test_client().get("/_scheme_probe", headers={"X-Forwarded-For": "198.51.100.7",
                                                     "X-Forwarded-Proto": "https"},
                          environ_base={"REMOTE_ADDR": PROXY})
    assert seen == {"scheme": "https", "addr": "198.51.100.7"}


@pytest.mark.parametrize("value", ["-1", "two"])
def test_a_wrong_number_of_proxies_is_refused_at_start(monkeypatch, value):
    monkeypatch.setenv("CRM_TRUSTED_PROXIES", value)
    with pytest.raises(ValueError, match="CRM_TRUSTED_PROXIES"):
        TestConfig("sqlite://")
