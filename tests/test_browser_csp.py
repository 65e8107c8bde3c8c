"""Every role's pages run their own scripts under the Content Security Policy, and a
script smuggled into a page does not run (crm.security.headers).

Chromium reports each thing the policy blocks as a console error ("Executing inline
script violates the following Content Security Policy directive ..."); an init script
reports the `securitypolicyviolation` events there too. Each role signs
in and opens its home page, every entry of its menu, a record, an add form and an edit
form where it may, tries what the pages' scripts do (a picker, a calendar, a list's
filter and delete buttons) and signs out from the user menu; any report fails the test.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.models import JobRun, JobStatus
from tests.factories import (
    make_activity,
    make_callback_request,
    make_contact,
    make_identifier,
    make_organisation,
    make_recipient,
    make_request,
)
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

USERS = ("sales", "marketing", "comms", "ar", "support", "privacy", "dpo", "admin",
         "maintainer")

#: The violations of the policy, as console errors the test reads with Chromium's own,
#: and in a list of the page's.
REPORT_VIOLATIONS = """window.policyViolations = [];
document.addEventListener("securitypolicyviolation", e => {
  window.policyViolations.push(e.violatedDirective);
  console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ` +
                `${e.blockedURI || "inline"} in ${e.sourceFile}:${e.lineNumber}`);
});"""


@pytest.fixture
def register(session) -> None:
    """A record on each kind of list a role opens, so its pages show rows to act on."""
    organisation = make_organisation(session)
    contact = make_contact(session, organisation=organisation)
    make_activity(session, contact)
    make_identifier(session, contact)
    make_callback_request(session)
    make_recipient(session)
    make_request(session, contact_id=contact.id, received_on=date.today() - timedelta(days=3))
    session.add(JobRun(job="retention", status=JobStatus.succeeded, dry_run=True,
                       counts={"prospects": 0}))
    session.commit()  # the live server's requests use their own database session


def watch_policy(page: Page) -> list[str]:
    """Return the list every violation of the policy on `page` is added to."""
    reported: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: reported.append(
        f"{message.location.get('url')}: {message.text}")
        if "Content Security Policy" in message.text else None)
    return reported


def visit(page: Page, path: str, status: int = 200) -> None:
    """Open `path`; its page must come with a policy allowing no inline script but its
    own (a nonce)."""
    response = page.goto(path)
    assert response is not None and response.status == status, path
    policy = response.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert re.fullmatch(r"'self' 'nonce-[\w-]+'", script_src), (path, script_src)


def links(page: Page, selector: str) -> list[str]:
    """Return where the links `selector` finds on `page` lead."""
    return page.eval_on_selector_all(selector, "links => links.map(a => a.getAttribute('href'))")


# What a role tries with a page's scripts (TRIES).

def picker_is_enhanced(page: Page) -> None:
    """The organisation box has become a type-ahead list (crm/link_picker.html)."""
    page.locator("#select2-organisation-container").click()
    expect(page.locator(".select2-container--open .select2-search__field")).to_be_focused()


def calendar_opens(page: Page) -> None:
    """The date field's calendar opens (crm/date_picker.html)."""
    page.locator("form#model_form .crm-date .input-group-addon").first.click()
    expect(page.locator(".datepicker-dropdown")).to_be_visible()


def filter_row_is_added(page: Page) -> None:
    """The list's filter menu adds a row of filter boxes (FAB's search widget)."""
    page.locator("a.accordion-toggle").first.click()
    page.locator("#filter_form button.dropdown-toggle").click()
    page.locator("#filter_form a.filter").first.click()
    expect(page.locator("#filter_form table.filters tr")).to_have_count(1)
    expect(page.locator("#filter_form .filter-op + .select2-container")).to_have_count(1)


def delete_asks_to_confirm(page: Page) -> None:
    """A row's delete button asks first (crm/widgets/list.html)."""
    page.locator("table a.confirm").first.click()
    expect(page.locator("#modal-confirm")).to_be_visible()


#: The pages a role opens from its screens, if offered: the first link of each kind.
OPENED = {"record": "main a[href*='/show/']", "add form": "main a.btn[href*='/add']",
          "edit form": "main a[href*='/edit/']"}
#: The roles that may add, and edit, a record on one of their screens: they open one.
MAY_OPEN = {"record": set(USERS),
            "add form": {"sales", "marketing", "support", "privacy", "admin"},
            "edit form": {"sales", "marketing", "ar", "support", "privacy", "admin"}}
#: What a role tries on a page with the page's scripts (the page opened if not yet).
TRIES = {
    "sales": {"/contactview/list/": filter_row_is_added, "/contactview/add": picker_is_enhanced,
              "/activityview/add": calendar_opens},
    "privacy": {"/recipientview/list/": delete_asks_to_confirm},
}


def open_and_try(page: Page, path: str, tries: dict) -> None:
    """Open `path`, then do there what `tries` says for it, once."""
    visit(page, path)
    if path in tries:
        tries.pop(path)(page)


@pytest.mark.parametrize("user", USERS)
def test_each_roles_pages_run_their_scripts_and_break_no_rule(page: Page, register, user):
    reported = watch_policy(page)
    tries = dict(TRIES.get(user, {}))
    sign_in(page, user)
    visit(page, "/")
    menu = links(page, "ul.nav.navbar-nav:not(.navbar-right) a[tabindex='-1']")
    assert menu, f"{user} has no menu"
    found: dict[str, str | None] = dict.fromkeys(OPENED)
    for path in menu:
        open_and_try(page, path, tries)
        for kind, selector in OPENED.items():
            found[kind] = found[kind] or next(iter(links(page, selector)), None)
    assert {kind for kind, path in found.items() if path} == {
        kind for kind, users in MAY_OPEN.items() if user in users}, found
    for path in dict.fromkeys([*filter(None, found.values()), *tries]):
        open_and_try(page, path, tries)
    visit(page, "/logout/")  # the sign-out page, as a link to it shows it
    page.locator(".navbar-right a.dropdown-toggle:has(.fa-user)").click()
    page.locator("#logout-menu-item").click()
    # Signed out: the menu offers to sign in.
    expect(page.locator(".navbar-right a[href='/login/']")).to_be_visible()
    assert reported == [], "\n".join(reported)


def test_the_public_pages_break_no_rule(page: Page):
    reported = watch_policy(page)
    for path in ("/contact", "/privacy", "/login/", "/logout/"):
        visit(page, path)
    visit(page, "/no-such-page", 404)  # an error page
    assert reported == [], "\n".join(reported)


def test_a_script_smuggled_into_a_page_does_not_run(page: Page, register):
    """What a stored cross-site script would put in a page (a script, an image's error
    handler) is blocked and reported; the page's own scripts still run."""
    def smuggle(route):
        response = route.fetch()
        body = response.text().replace("</main>", (
            '<script>window.smuggled = "script"</script>'
            '<img src="/no-such-image" onerror="window.smuggled = \'handler\'"></main>'))
        route.fulfill(response=response, body=body)

    reported = watch_policy(page)
    sign_in(page, "sales")
    page.route("**/contactview/list/", smuggle)
    visit(page, "/contactview/list/")
    filter_row_is_added(page)
    expect(page.locator("main img[src='/no-such-image']")).to_have_count(1)
    page.wait_for_function("() => window.policyViolations.length >= 2")
    assert page.evaluate("window.smuggled") is None
    assert len(reported) >= 2, reported
