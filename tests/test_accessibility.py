"""The screens people use pass axe-core's WCAG 2.1 A and AA rules and its best practices,
in Finnish and English.

axe-core runs in Chromium on each page (its script comes with the
axe-playwright-python package: nothing is downloaded). Any violation fails the test,
whatever its impact, named by rule, element and page: the best practices keep each
page's content in landmarks (banner, main, contentinfo), give it one h1 and headings
in order, and a name to every table header. Each
role's home and main screens are checked, some in the state a user leaves them
in (a filter panel opened, a form sent empty, a type-ahead list opened), and so
are the public pages, the sign-in page and an error page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from crm.models import JobRun, JobStatus
from tests.conftest import PASSWORD
from tests.factories import (
    make_activity,
    make_callback_request,
    make_contact,
    make_organisation,
    make_request,
)

pytestmark = pytest.mark.browser

AXE = Axe()
#: WCAG 2.1 levels A and AA, and axe's best practices (none is left out).
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                     "best-practice"]},
               "resultTypes": ["violations"]}
LANGUAGES = ("fi", "en")


def violations(page, where: str) -> list[str]:
    """Run axe on `page` as it is now; return its findings, minor to critical."""
    found = AXE.run(page, options=AXE_OPTIONS).response["violations"]
    return [f"{where}: {v['id']} ({v['impact']}) at {' '.join(map(str, node['target']))}"
            for v in found for node in v["nodes"]]


def report(problems: list[str]) -> str:
    """The assertion message: how many, then each on its line."""
    return f"{len(problems)} accessibility violations:\n" + "\n".join(problems)


@pytest.fixture
def register(session) -> dict[str, int]:
    """A small register for the screens to show: its records' ids."""
    organisation = make_organisation(session)
    contact = make_contact(session, organisation=organisation)
    make_activity(session, contact)
    make_callback_request(session)
    # Overdue, so the request lists show their warning label.
    request = make_request(session, contact_id=contact.id,
                           received_on=date.today() - timedelta(days=60))
    # A dry run of a job, so the jobs screen shows its last run and label.
    session.add(JobRun(job="retention", status=JobStatus.succeeded, dry_run=True,
                       counts={"prospects": 0}))
    session.commit()  # the live server's requests use their own database session
    return {"contact": contact.id, "organisation": organisation.id, "request": request.id,
            "last_name": contact.last_name}


def signed_in(browser, live_server, username: str, width: int = 1280):
    """A new browser context signed in as `username`, `width` pixels wide, and its page."""
    context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 1000})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input#username", username)
    page.fill("input#password", PASSWORD)
    page.click("form[name=login] [type=submit]")
    page.wait_for_load_state()
    assert page.locator('form[action="/logout/"]').count() == 1, \
        f"{username} did not sign in"
    return context, page


# What a user does on a screen before axe looks again.

def open_filters(page) -> None:
    page.locator("a.accordion-toggle").first.click()
    page.locator(".panel-collapse.in").first.wait_for()
    # Bootstrap's panels open with an animation: look when it is over.
    page.wait_for_function("() => !document.querySelector('.collapsing')")


def send_empty(page) -> None:
    # Past the browser's own check of required fields: the server's messages show.
    page.eval_on_selector("form#model_form", "form => { form.noValidate = true; }")
    page.locator("form#model_form button[type=submit]").click()
    page.locator("form#model_form .alert-danger").first.wait_for()


def open_picker(page) -> None:
    page.locator("#select2-contact-container").click()
    page.locator(".select2-container--open .select2-results").wait_for()


def screens(ids: dict) -> dict[str, list[tuple[str, Callable | None]]]:
    """Each role's screens: (path, what the user does there first, or None)."""
    contact, organisation, request = ids["contact"], ids["organisation"], ids["request"]
    return {
        "sales": [
            ("/", None),
            ("/contactview/list/", open_filters),
            (f"/contactview/list/?_flt_2_last_name={ids['last_name']}", None),
            (f"/contactview/list/?q={ids['last_name']}", None),
            (f"/contactview/show/{contact}", None),
            ("/contactview/add", send_empty),  # the form, and its fields' messages
            (f"/contactview/edit/{contact}", None),
            (f"/organisationview/show/{organisation}", None),
            (f"/organisationview/edit/{organisation}", None),
            ("/activityview/add", open_picker),
            ("/callbackrequestview/list/", None),
        ],
        # A consent's form: its purpose is one of FAB's select2s (crm/accessibility.html).
        "marketing": [("/", None), ("/imports/", None), ("/consentview/add", None)],
        "comms": [("/", None)],
        "ar": [("/", None), ("/organisationview/list/", None)],
        "support": [("/", None), ("/contactview/list/", None)],
        "privacy": [
            ("/", None),
            ("/requests/", None),
            ("/datasubjectrequestview/list/", None),
            (f"/datasubjectrequestview/show/{request}", None),
            ("/jobs/", None),
            ("/jobs/forecast", None),
            ("/auditeventview/list/", None),
        ],
        # A request's page as a reader sees it: each step's state, no forms.
        "dpo": [("/", None), ("/auditeventview/list/", None),
                (f"/datasubjectrequestview/show/{request}", None)],
        "admin": [("/", None), ("/users/list/", None)],
        "maintainer": [("/", None), ("/jobs/", None)],
    }


def screen_violations(page, path: str, action: Callable | None, who: str) -> list[str]:
    """Open `path`, do `action` there if given, and return what axe finds.

    On a record's page, each of its related lists' tabs is shown and checked in turn
    (the edit form has the same tabs).
    """
    page.goto(path)
    where = f"{path} ({who})"
    if action:
        action(page)
        where += f" after {action.__name__}"
    problems = violations(page, where)
    if "/show/" not in path:
        return problems
    tabs = page.locator(".nav-tabs a[data-toggle=tab]:visible")
    for i in range(1, tabs.count()):
        tabs.nth(i).click()
        problems += violations(page, f"{where}, tab {tabs.nth(i).inner_text()}")
    return problems


@pytest.mark.parametrize("lang", LANGUAGES)
def test_public_pages_sign_in_and_error_page(browser, live_server, lang):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    problems = []
    try:
        for path in (f"/contact?lang={lang}", f"/privacy?lang={lang}"):
            page.goto(path)
            problems += violations(page, path)
        page.goto(f"/lang/{lang}")
        for path in ("/login/", "/no-such-page"):
            page.goto(path)
            problems += violations(page, f"{path} ({lang})")
    finally:
        context.close()
    assert not problems, report(problems)


def test_each_roles_screens(browser, live_server, register):
    problems = []
    for username, steps in screens(register).items():
        context, page = signed_in(browser, live_server, username)
        try:
            for lang in LANGUAGES:
                page.goto(f"/lang/{lang}")
                for path, action in steps:
                    problems += screen_violations(page, path, action, f"{username}, {lang}")
        finally:
            context.close()
    assert not problems, report(problems)



def test_a_phone_sized_screen(browser, live_server, register):
    """At a phone's width the menu folds behind a button of three bars, and wide tables
    scroll sideways in their boxes: both must still be usable without a mouse."""
    context, page = signed_in(browser, live_server, "sales", width=375)
    problems = []
    try:
        for path in ("/", "/contactview/list/", f"/contactview/show/{register['contact']}"):
            problems += screen_violations(page, path, None, "sales, 375 px")
        assert page.locator(".navbar-toggle").get_attribute("aria-label") == "Valikko"
    finally:
        context.close()
    assert not problems, report(problems)


#: Each visible placeholder's text, its colour and the colour behind it: a text box's
#: (its ::placeholder) and a select2 picker's (a <span>, until something is chosen).
PLACEHOLDERS_JS = """() => {
  function behind(el) {
    for (; el; el = el.parentElement) {
      const colour = getComputedStyle(el).backgroundColor;
      if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") { return colour; }
    }
    return "rgb(255, 255, 255)";
  }
  const shown = el => el.getClientRects().length > 0;
  const boxes = [...document.querySelectorAll("main [placeholder]")].filter(shown)
    .map(el => [el.placeholder, getComputedStyle(el, "::placeholder").color, behind(el)]);
  const pickers = [...document.querySelectorAll("main .select2-selection__placeholder")]
    .filter(shown).map(el => [el.textContent, getComputedStyle(el).color, behind(el)]);
  return {boxes: boxes, pickers: pickers};
}"""


def contrast(colour: str, background: str) -> float:
    """WCAG 2.1's contrast ratio of CSS `colour` ("rgb(102, 102, 102)", maybe with an
    alpha) on `background`."""
    back = [float(v) for v in re.findall(r"[\d.]+", background)[:3]]
    values = [float(v) for v in re.findall(r"[\d.]+", colour)]
    alpha = values[3] if len(values) > 3 else 1.0
    front = [alpha * f + (1 - alpha) * b for f, b in zip(values[:3], back, strict=True)]

    def luminance(rgb: list[float]) -> float:
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                  for c in (v / 255 for v in rgb)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(front), luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_placeholders_are_readable(browser, live_server, register):
    """Placeholder text (a search box's hint, a date's shape, a picker's "Search by name")
    is at least 4.5:1 on its box (WCAG 1.4.3), which axe does not check."""
    context, page = signed_in(browser, live_server, "sales")
    found = {"boxes": [], "pickers": []}
    try:
        for path in ("/contactview/list/", "/contactview/add", "/activityview/add"):
            page.goto(path)
            for kind, placeholders in page.evaluate(PLACEHOLDERS_JS).items():
                found[kind] += [(path, *placeholder) for placeholder in placeholders]
    finally:
        context.close()
    assert found["boxes"] and found["pickers"], found
    faint = [f"{path}: {text!r} is {colour} on {background}, "
             f"{contrast(colour, background):.2f}:1"
             for path, text, colour, background in found["boxes"] + found["pickers"]
             if contrast(colour, background) < 4.5]
    assert not faint, "\n".join(faint)
