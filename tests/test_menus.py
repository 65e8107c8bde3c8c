"""Each role's menu, as it reads it: the job screens under a heading of the role's own
work, and no entry leading to a refusal (crm.views.register_views,
crm.security.roles.MENU_CATEGORY_ROLES).

The administrator and the service maintainer read the job runs only (DESIGN §6
"R (runs)"): they find them under Maintenance, not under Privacy, which is not their
work; the privacy officer and the DPO keep them under Privacy.
"""

from __future__ import annotations

import re

import pytest

USERS = ("sales", "marketing", "comms", "ar", "support", "privacy", "dpo", "admin",
         "maintainer")

#: The job screens, by their menu links.
JOB_SCREENS = ("/jobrunview/list/", "/jobs/", "/jobs/forecast")

#: user -> the heading each role finds the job screens under (none: not in its menu).
JOB_HEADING = {"sales": None, "marketing": None, "comms": None, "ar": None,
               "support": None, "privacy": "Privacy", "dpo": "Privacy",
               "admin": "Maintenance", "maintainer": "Maintenance"}


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ").split())


def menu(html: str) -> dict[str, list[tuple[str, str]]]:
    """Return the menu of a page: heading -> [(link, entry)], in the order shown."""
    nav = html[html.index('<ul class="nav navbar-nav">'):html.index("navbar-right")]
    result = {}
    for part in nav.split('<li class="dropdown">')[1:]:
        heading = words(part[:part.index('<b class="caret">')])
        result[heading] = [(href, words(text)) for href, text in
                           re.findall(r'<a tabindex="-1" href="([^"]+)">(.*?)</a>', part, re.S)]
    return result


@pytest.mark.parametrize("user", USERS)
def test_each_role_finds_the_job_screens_under_its_own_work(signed_in, user):
    shown = menu(signed_in(user).get("/").get_data(as_text=True))
    headings = {href: heading for heading, links in shown.items() for href, _ in links}
    expected = JOB_HEADING[user]
    assert {href: headings.get(href) for href in JOB_SCREENS} == dict.fromkeys(
        JOB_SCREENS, expected)
    if expected == "Maintenance":
        # Privacy is not in their menu at all, and the entries read as the privacy
        # team's do.
        assert "Privacy" not in shown
        assert shown["Maintenance"] == [("/jobrunview/list/", "Job runs"),
                                        ("/jobs/", "Scheduled jobs"),
                                        ("/jobs/forecast", "Retention forecast")]
    else:
        assert "Maintenance" not in shown


@pytest.mark.parametrize("user", USERS)
def test_every_menu_entry_opens_for_its_role(signed_in, user):
    client = signed_in(user)
    shown = menu(client.get("/").get_data(as_text=True))
    assert shown, f"{user} has no menu"
    for heading, links in shown.items():
        for href, entry in links:
            status = client.get(href).status_code
            assert status == 200, f"{user}: {heading} › {entry} ({href}) gave {status}"


def test_the_maintainers_heading_is_in_finnish(login_as):
    shown = menu(login_as("maintainer").get("/").get_data(as_text=True))
    assert list(shown) == ["Ylläpito"]

