"""The console in a real headless Chromium, driven by Playwright, against a real `contacts serve`.

One browser per module.  Each screen is photographed; the pictures go to a
temporary folder, or to the folder `CONTACTS_SCREENS` names (`tests/screens.py`
sets it to docs/screens for the README).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import openpyxl
import pytest
from web_helpers import OPERATOR, PASSWORD, Server, console_home, csrf_of, signed_in

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(console_home(tmp_path_factory.mktemp("browser"))).start()
    _seed(srv.url)
    yield srv
    srv.stop()


def _seed(url: str) -> None:
    """Contacts in Hebrew and English, groups and an opt-out, so each screen shows what it is for."""
    c = signed_in(url)
    rows = ("First name,Last name,Mobile,Email,City,Tier,Groups\n"
            "דנה,לוי,052-345-6789,dana@example.com,תל אביב,gold,VIP\n"
            "Avi,Cohen,052-411-2233,avi.cohen@example.com,Haifa,silver,VIP;Newsletter\n"
            "נועה,ברק,054-321-7788,noa@example.co.il,ירושלים,bronze,Newsletter\n"
            "Maya,Friedman,050-765-4321,maya@example.org,Tel Aviv,,Newsletter\n"
            "יוסי,מזרחי,052-987-6543,,באר שבע,gold,\n"
            "Liam,Katz,,liam.katz@example.com,Eilat,,VIP\n")
    columns = c.post("/import", data={"csrf": csrf_of(c), "pasted": rows}).headers["location"]
    job = c.post(columns, data={"csrf": csrf_of(c), "col_0": "first_name"}).headers["location"]
    for _ in range(300):
        if 'http-equiv="refresh"' not in c.get(job).text:
            break
    c.post("/optouts/add", data={"csrf": csrf_of(c), "values": "052-411-2233\n052-987-6543", "reason": "replied STOP"})
    c.post("/groups/create", data={"csrf": csrf_of(c), "name": "Fair leftovers", "category": "events"})
    c.post("/groups/create", data={"csrf": csrf_of(c), "name": "Fair regulars", "category": "events"})
    c.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian's chromium package); the browser tests need it")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def screens(tmp_path_factory) -> Path:
    where = os.environ.get("CONTACTS_SCREENS")
    folder = Path(where) if where else tmp_path_factory.mktemp("screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(browser, server):
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url, accept_downloads=True, locale="en-GB")
    pg = context.new_page()
    pg.goto("/login")
    # by keyboard: the name field has the focus (once the page has given it), Tab to the password, Enter signs in
    pg.wait_for_function("document.activeElement && document.activeElement.name === 'name'")
    pg.keyboard.type(OPERATOR)
    pg.keyboard.press("Tab")
    pg.keyboard.type(PASSWORD)
    pg.keyboard.press("Enter")
    pg.wait_for_url("**/contacts")
    yield pg
    context.close()


def shot(page, screens: Path, name: str, *, whole: bool = False) -> None:
    path = screens / f"{name}.png"
    page.screenshot(path=str(path), full_page=whole)
    assert path.stat().st_size < 300_000, f"{name}.png is {path.stat().st_size} bytes"


def note(page) -> str:
    return page.locator(".note").inner_text()


def test_the_login_page(browser, server, screens):
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    pg = context.new_page()
    answer = pg.goto("/contacts")
    assert answer.status == 401
    assert pg.locator("h1").inner_text() == "Sign in"
    shot(pg, screens, "login")
    pg.goto("/api/v1/docs")
    assert pg.locator("h1").inner_text() == "The HTTP API"
    assert pg.locator("section h2", has_text="/api/v1/contacts").count() >= 2
    shot(pg, screens, "api-docs")
    context.close()


def test_the_contacts_screen(page, screens):
    page.goto("/contacts")
    assert page.locator("h1").inner_text() == "Contacts"
    assert page.locator("td[dir=auto]", has_text="דנה").count() == 1
    assert page.locator("tbody tr").count() == 5  # Yossi's only detail is opted out
    page.get_by_label("Also opted out").check()
    page.get_by_role("button", name="Search").click()
    assert page.locator("tbody tr").count() == 6
    page.get_by_role("link", name="Last name").click()
    assert "sort=last_name" in page.url
    shot(page, screens, "contacts")


def test_the_wizard_with_an_xlsx_and_a_column_reassigned(page, screens, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["שם פרטי", "Last name", "Mobile No.", "E-mail", "Branch"])
    ws.append(["רותם", "שגיא", "052-555-0101", "rotem@example.com", "חולון"])
    ws.append(["Omer", "Tal", "052-555-0102", "omer@example", "Ramat Gan"])
    ws.append(["Nobody", "Here", "12", "not-an-email", "Nowhere"])
    ws.append(["Shira", "Adler", "052-555-0104", "shira@example.com", "Netanya"])
    source = tmp_path / "spring fair.xlsx"
    wb.save(source)

    page.goto("/import")
    assert page.locator("h1").inner_text() == "Import contacts"
    shot(page, screens, "import-1-file")
    page.get_by_label("Upload a file").set_input_files(str(source))
    page.get_by_role("button", name="Next: the columns").click()
    page.wait_for_url("**/columns")
    branch = page.locator("select#col_4")
    assert "needs-choice" in (branch.get_attribute("class") or "")
    assert page.locator("td.needs-choice").count() == 1
    assert page.locator("table.preview tbody tr").count() == 4
    shot(page, screens, "import-2-columns")
    branch.select_option("city")
    page.get_by_role("button", name="Next: the group").click()
    page.wait_for_url("**/group")
    shot(page, screens, "import-3-group")
    page.get_by_label("A new group").check()
    page.get_by_label("Name", exact=True).fill("Spring fair")
    page.get_by_label("Category (optional)").fill("events")
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_selector("text=Done.", timeout=60_000)
    counts = page.locator(".counts").inner_text()
    assert re.search(r"4\s+rows", counts) and re.search(r"3\s+new", counts) and re.search(r"1\s+rejected", counts)
    assert re.search(r"1\s+with values left out", counts)
    shot(page, screens, "import-4-summary")
    with page.expect_download() as got:
        page.get_by_role("link", name="Download the reject workbook").click()
    assert got.value.suggested_filename.endswith(".rejects.xlsx")
    saved = tmp_path / got.value.suggested_filename
    got.value.save_as(saved)
    rows = list(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[0] == ("שם פרטי", "Last name", "Mobile No.", "E-mail", "Branch", "Reject reason", "Source row")
    assert {r[0] for r in rows[1:]} == {"Omer", "Nobody"}  # Omer imported without his bad e-mail, and listed
    page.goto("/contacts?search=Omer")
    assert page.locator("tbody tr").first.locator("td").nth(5).inner_text() == "Spring fair"


def test_an_edit_with_an_opt_out_toggle_and_its_history(page, screens):
    page.goto("/contacts?search=dana")
    page.locator("tbody tr").first.get_by_role("link", name=re.compile("^Edit")).click()
    assert page.locator("h1").inner_text().startswith("Contact ")
    page.get_by_label("Job title").fill("מנהלת מכירות")
    page.get_by_role("button", name="Save").click()
    assert "changed: job_title" in note(page)
    page.locator("#reason-sms").fill("asked at the counter")
    page.get_by_role("button", name="Opt phone out").click()
    assert "is opted out" in note(page)
    page.get_by_role("button", name="Opt phone back in").click()  # the reason is required: nothing is sent
    assert "is opted out" in note(page)
    page.locator("#reason-sms").fill("signed the consent form")
    page.get_by_role("button", name="Opt phone back in").click()
    assert "may be contacted again" in note(page)
    history = page.get_by_role("table", name="Opt-out history of the phone").inner_text()
    assert "asked at the counter" in history and "signed the consent form" in history and OPERATOR in history
    shot(page, screens, "edit", whole=True)


def test_a_group_merge(page, screens):
    page.goto("/groups")
    assert page.locator("h1").inner_text() == "Groups"
    shot(page, screens, "groups")
    page.get_by_role("link", name="Fair leftovers", exact=True).click()
    page.get_by_label("Contact ids to add").fill("1, 2")
    page.get_by_role("button", name="Add to group").click()
    assert "2 contacts added" in note(page)
    shot(page, screens, "group")
    page.get_by_label("Merge into").select_option("Fair regulars")  # a group of the store's own (tests may run apart)
    page.locator("summary", has_text="Merge…").click()
    page.get_by_role("button", name="Yes, merge and delete this group").click()
    assert "Fair leftovers is merged into Fair regulars" in note(page)
    assert page.locator("h1").inner_text() == "Group Fair regulars"


def test_a_field_added_keeps_the_comments_of_fields_yaml(page, screens, server):
    page.goto("/fields")
    page.get_by_label("Name (letters").fill("favourite_branch")
    page.get_by_label("Type", exact=True).select_option("choice")
    page.get_by_label("Choices").fill("Holon, Haifa")
    page.get_by_label("Header aliases").fill("Branch, סניף")
    page.get_by_role("button", name="Add field").click()
    assert "favourite_branch is added" in note(page)
    assert page.locator("td code", has_text="favourite_branch").count() == 1
    text = (server.home / "config" / "fields.yaml").read_text(encoding="utf-8")
    assert "# Field rules of the console tests" in text and "# a choice is shown as a list" in text
    assert "favourite_branch" in text and "סניף" in text
    shot(page, screens, "fields")


def test_the_optouts_and_imports_screens(page, screens):
    page.goto("/optouts")
    page.get_by_label("Phone (any format) or e-mail").fill("052 411 2233")
    page.get_by_role("button", name="Show history").click()
    assert "replied STOP" in page.locator("#history-h").locator("..").inner_text()
    shot(page, screens, "optouts")
    page.goto("/runs")
    assert page.locator("h1").inner_text() == "Imports"
    shot(page, screens, "runs")
    page.locator("main table a", has_text="pasted").first.click()  # the module's own import (tests may run apart)
    assert "pasted" in page.locator("h1").inner_text()
    shot(page, screens, "run")
