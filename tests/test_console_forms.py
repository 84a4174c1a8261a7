"""The console's pages and forms, through a real `contacts serve` on 127.0.0.1, driven with httpx as a browser
posts forms: sign-in, each page with its heading, each form's action, CSRF and sessions enforced."""

from __future__ import annotations

import io
import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import openpyxl
import pytest
from helpers import make_home
from web_helpers import Server, console_home, csrf_of, form_value, signed_in

from pipeline.config import load_config
from pipeline.web import create_app
from pipeline.web.auth import caller


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(console_home(tmp_path_factory.mktemp("console"))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    c = signed_in(server.url)
    yield c
    c.close()


def said(answer: httpx.Response) -> dict[str, str]:
    """The note or problem a form's redirect carries."""
    assert answer.status_code == 303, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def post(client: httpx.Client, path: str, data: dict, came: str = "/contacts", **kw) -> httpx.Response:
    return client.post(path, data={"csrf": csrf_of(client), "from": came, **data}, **kw)


def h1(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert found, "the page has no h1"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def add(client, **fields) -> int:
    answer = post(client, "/contacts/new", {f"f_{k}": v for k, v in fields.items()})
    assert "note" in said(answer), said(answer)
    return int(answer.headers["location"].split("/contacts/")[1].split("?")[0])


# --------------------------------------------------------------------------- who may ask


def _routes(routes, prefix=""):
    for r in routes:
        if hasattr(r, "original_router"):  # an included router, kept whole by FastAPI
            yield from _routes(r.original_router.routes, prefix + (getattr(r.include_context, "prefix", "") or ""))
        else:
            yield prefix + r.path, r


OPEN = {"/login", "/api/v1/docs", "/api/v1/openapi.json"}


def test_every_route_but_the_open_three_needs_a_session_or_token(tmp_path):
    app = create_app(load_config(make_home(tmp_path)))
    checked = 0
    for path, route in _routes(app.routes):
        if path in OPEN:
            continue
        calls = [d.call for d in route.dependant.dependencies]
        assert caller in calls, f"{path} answers without a session"
        checked += 1
    assert checked > 60


def test_without_a_session_every_page_answers_401_with_the_login_page(server, tmp_path):
    app = create_app(load_config(make_home(tmp_path)))
    anonymous = httpx.Client(base_url=server.url, timeout=30)
    for path, route in _routes(app.routes):
        if path in OPEN:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method in sorted(route.methods - {"HEAD"}):
            answer = anonymous.request(method, url)
            assert answer.status_code == 401, f"{method} {url}: {answer.status_code}"
            if not path.startswith("/api/"):
                assert h1(answer.text) == "Sign in"


def test_the_login_page_the_api_docs_and_openapi_json_are_open(server):
    anonymous = httpx.Client(base_url=server.url, timeout=30)
    assert h1(anonymous.get("/login").text) == "Sign in"
    docs = anonymous.get("/api/v1/docs")
    assert docs.status_code == 200 and h1(docs.text) == "The HTTP API"
    assert "POST" in docs.text and "/api/v1/contacts" in docs.text and "052-345-6789" in docs.text
    assert "cdn" not in docs.text.lower() and "<script" not in docs.text
    assert anonymous.get("/api/v1/openapi.json").json()["openapi"]


def test_a_wrong_password_is_refused_and_signing_out_ends_the_session(server):
    c = httpx.Client(base_url=server.url, timeout=30)
    page = c.get("/login")
    wrong = c.post("/login", data={"name": "rina", "password": "nope", "csrf": form_value(page.text, "csrf")})
    assert wrong.status_code == 401 and "wrong" in wrong.text
    mine = signed_in(server.url)
    assert mine.get("/contacts").status_code == 200
    assert mine.post("/logout", data={"csrf": csrf_of(mine)}).status_code == 303
    assert mine.get("/contacts").status_code == 401


def test_a_form_without_its_csrf_token_is_refused(client):
    for path, data in (("/contacts/new", {"f_phone": "052-345-0000"}), ("/groups/create", {"name": "Nope"}),
                       ("/optouts/add", {"values": "052-345-0001"})):
        answer = client.post(path, data=data)
        assert answer.status_code == 403, path
        answer = client.post(path, data={**data, "csrf": "not-the-token"})
        assert answer.status_code == 403, path
    assert "Nope" not in client.get("/groups").text


@pytest.mark.parametrize("path, heading", [
    ("/contacts", "Contacts"), ("/contacts/new", "Add contact"), ("/import", "Import contacts"),
    ("/groups", "Groups"), ("/optouts", "Opt-outs"), ("/fields", "Fields"), ("/runs", "Imports"),
    ("/api/v1/docs", "The HTTP API"),
])
def test_each_page_answers_with_its_heading(client, path, heading):
    answer = client.get(path)
    assert answer.status_code == 200
    assert h1(answer.text) == heading
    assert "<script" not in answer.text


# --------------------------------------------------------------------------- contacts


def test_add_edit_and_delete_a_contact_with_custom_fields(client, server):
    cid = add(client, phone="052-345-1111", first_name="דנה", last_name="לוי", loyalty_tier="silver",
              signup_date="2026-01-31", email="Dana.Levi@Example.com")
    page = client.get(f"/contacts/{cid}").text
    assert 'value="2026-01-31"' in page and '<option value="silver" selected>' in page
    assert 'dir="ltr"' in page and "dana.levi@example.com" in page
    shown = {k: v for k, v in re.findall(r'name="(f_\w+)" value="([^"]*)"', page)}
    answer = post(client, f"/contacts/{cid}", {**shown, "f_city": "תל אביב", "f_loyalty_tier": "gold"},
                  came=f"/contacts/{cid}")
    assert "changed: city, loyalty_tier" in said(answer)["note"]
    rec = client.get(f"/api/v1/contacts/{cid}").json()
    assert (rec["city"], rec["loyalty_tier"], rec["first_name"]) == ("תל אביב", "gold", "דנה")
    shown = {k: v for k, v in re.findall(r'name="(f_\w+)" value="([^"]*)"', client.get(f"/contacts/{cid}").text)}
    answer = post(client, f"/contacts/{cid}", shown, came=f"/contacts/{cid}")
    assert said(answer)["note"] == "Nothing was changed."
    answer = post(client, f"/contacts/{cid}/delete", {})
    assert "deleted" in said(answer)["note"]
    assert client.get(f"/contacts/{cid}").status_code == 404


def test_a_refused_form_goes_back_to_its_page_with_the_sentence(client):
    answer = post(client, "/contacts/new", {"f_phone": "12"}, came="/contacts/new")
    assert answer.headers["location"].startswith("/contacts/new?problem=")
    assert "not a valid" in said(answer)["problem"]
    page = client.get(answer.headers["location"])
    assert 'class="problem" role="alert"' in page.text


def test_the_contact_list_searches_sorts_pages_and_hides_opted_out(client):
    ids = [add(client, phone=f"053-200-{n:04d}", first_name=f"Pager{n:02d}") for n in range(55)]
    page = client.get("/contacts", params={"search": "Pager", "sort": "first_name:desc"}).text
    assert "55 contacts" in page and "Page 1 of 2" in page
    assert page.index("Pager54") < page.index("Pager53")
    assert 'href="/contacts?search=Pager&amp;sort=first_name&amp;all=' in page  # the header flips the order
    second = client.get("/contacts", params={"search": "Pager", "sort": "first_name:desc", "page": 2}).text
    assert "Pager00" in second and "Pager54" not in second
    post(client, f"/contacts/{ids[0]}/status", {"channel": "sms", "action": "out", "reason": "asked"})
    assert "Pager00" not in client.get("/contacts", params={"search": "Pager00"}).text.split("<tbody>")[1]
    every = client.get("/contacts", params={"search": "Pager00", "all": "true"}).text
    assert "Pager00" in every and "opted out" in every
    export = client.get("/contacts/export", params={"search": "Pager", "sort": "first_name"})
    assert export.status_code == 200 and export.headers["content-type"].startswith(
        "application/vnd.openxmlformats")
    rows = list(openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "record_id" and len(rows) == 1 + 54
    assert rows[1][rows[0].index("first_name")] == "Pager01"


def test_opting_a_detail_out_and_back_in_keeps_its_history_with_who_and_why(client):
    cid = add(client, phone="054-777-0001", email="status@example.com")
    came = f"/contacts/{cid}"
    assert "opted out" in said(post(client, f"{came}/status", {"channel": "email", "action": "out",
                                                              "reason": "replied STOP"}, came=came))["note"]
    back_in = post(client, f"{came}/status", {"channel": "email", "action": "in", "reason": ""}, came=came)
    assert "reason" in said(back_in)["problem"]
    post(client, f"{came}/status", {"channel": "email", "action": "in", "reason": "signed the form"}, came=came)
    page = client.get(came).text
    history = page.split("Opt-out history of the e-mail")[1].split("</table>")[0]
    assert "replied STOP" in history and "signed the form" in history and "rina" in history
    assert "console" in history


def test_a_contact_joins_and_leaves_groups_from_its_page(client, server):
    post(client, "/groups/create", {"name": "Walk-ins"})
    cid = add(client, phone="054-777-0002")
    post(client, f"/contacts/{cid}/groups", {"group": "Walk-ins", "action": "add"})
    assert 'dir="auto">Walk-ins</a>' in client.get(f"/contacts/{cid}").text
    assert client.get(f"/api/v1/contacts/{cid}").json()["groups"] == ["Walk-ins"]
    post(client, f"/contacts/{cid}/groups", {"group": "Walk-ins", "action": "remove"})
    assert client.get(f"/api/v1/contacts/{cid}").json()["groups"] == []


# --------------------------------------------------------------------------- groups


def test_groups_create_assign_unassign_edit_merge_and_delete(client, server):
    a = add(client, phone="052-700-0001")
    b = add(client, phone="052-700-0002")
    assert "created" in said(post(client, "/groups/create", {"name": "Leads", "category": "source"}))["note"]
    assert "created" in said(post(client, "/groups/create", {"name": "Customers"}))["note"]
    assert "Leads" in said(post(client, "/groups/create", {"name": "leads"}))["problem"]
    assert "2 contacts added" in said(post(client, "/groups/assign", {"name": "Leads", "ids": f"{a}, {b}"}))["note"]
    assert "no contact" in said(post(client, "/groups/assign", {"name": "Leads", "ids": "999999"}))["problem"].lower()
    assert "1 contact taken out" in said(post(client, "/groups/unassign", {"name": "Leads", "ids": str(b)}))["note"]
    page = client.get("/groups/show", params={"name": "Leads"})
    assert h1(page.text) == "Group Leads" and f"/contacts/{a}" in page.text
    post(client, "/groups/edit", {"name": "Leads", "rename": "Hot leads", "category": "web"})
    listing = client.get("/groups").text
    assert "Hot leads" in listing and "web" in listing and "/import?group=Hot%20leads" in listing
    note = said(post(client, "/groups/merge", {"name": "Hot leads", "into": "Customers"}))["note"]
    assert "merged into Customers" in note
    assert "Hot leads" not in [g["name"] for g in client.get("/api/v1/groups").json()]
    assert "deleted" in said(post(client, "/groups/delete", {"name": "Customers"}))["note"]
    assert client.get("/groups/show", params={"name": "Customers"}).status_code == 404


# --------------------------------------------------------------------------- opt-outs


def test_optouts_add_remove_history_and_a_pasted_list(client):
    said_ = said(post(client, "/optouts/add", {"values": "052-999-0001\nnot-a-detail", "reason": "by phone"}))
    assert "1 detail opted out" in said_["problem"] and "not-a-detail" in said_["problem"]
    page = client.get("/optouts").text
    assert "+972529990001" in page and "by phone" in page and "rina" in page
    answer = post(client, "/optouts/remove", {"value": "052-999-0001", "reason": "consent form"})
    assert "may be contacted again" in said(answer)["note"]
    history = client.get(answer.headers["location"]).text
    assert h1(history) == "Opt-outs" and "consent form" in history and "may be contacted" in history
    pasted = said(post(client, "/optouts/import", {"text": "Mobile\n052-999-0002\npaste@example.com\n"}))
    assert pasted["note"].startswith("2 details opted out")
    assert "console paste" in client.get("/optouts").text
    assert "not a valid" in client.get("/optouts", params={"value": "zzz"}).text


# --------------------------------------------------------------------------- fields


def test_a_custom_field_is_added_and_fields_yaml_keeps_its_comments(client, server):
    page = client.get("/fields").text
    assert "loyalty_tier" in page and "curl -X POST" in page and "json-schema.org" in page
    answer = post(client, "/fields/add", {"name": "shoe_size", "type": "number", "aliases": "Shoe, מידה"})
    assert "shoe_size" in said(answer)["note"]
    text = (server.home / "config" / "fields.yaml").read_text(encoding="utf-8")
    assert "# Field rules of the console tests" in text and "# a choice is shown as a list" in text
    assert "shoe_size" in text and "מידה" in text
    assert "already" in said(post(client, "/fields/add", {"name": "shoe_size"}))["problem"]
    assert 'name="f_shoe_size"' in client.get("/contacts/new").text


# --------------------------------------------------------------------------- the import wizard and runs


def wait_for_summary(client, location: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get(location).text
        if 'http-equiv="refresh"' not in page:
            return page
        time.sleep(0.2)
    raise AssertionError("the import did not end")


def test_the_wizard_pasted_rows_mapped_into_a_new_group_then_the_run_undone(client, server):
    rows = "Name,Mobile,Shoe colour,Notes\nAvi,052-600-0001,red,x\nBen,12345,blue,y\nGal,052-600-0003,green,z\n"
    answer = post(client, "/import", {"pasted": rows}, came="/import")
    columns = answer.headers["location"]
    assert columns.endswith("/columns")
    page = client.get(columns).text
    assert h1(page) == "Import: the columns of pasted rows"
    assert page.count('class="needs-choice"') >= 2  # Shoe colour and Notes: nothing recognises them
    assert "052-600-0001" in page
    answer = post(client, columns, {"col_0": "first_name", "col_1": "phone", "col_2": "city", "col_3": "ignore"},
                  came=columns)
    group = answer.headers["location"]
    assert group.endswith("/group") and h1(client.get(group).text) == "Import: which group"
    answer = post(client, group.replace("/group", "/start"),
                  {"choice": "new", "new_name": "Pasted", "new_category": "wizard"}, came=group)
    summary = wait_for_summary(client, answer.headers["location"])
    assert "Done." in summary and "Download the reject workbook" in summary
    run = int(re.search(r'href="/runs/(\d+)/rejects"', summary).group(1))
    workbook = client.get(f"/runs/{run}/rejects")
    assert workbook.status_code == 200
    rejected = list(openpyxl.load_workbook(io.BytesIO(workbook.content)).active.iter_rows(values_only=True))
    assert rejected[0][-2:] == ("Reject reason", "Source row") and rejected[1][0] == "Ben"
    found = client.get("/api/v1/contacts", params={"group": "Pasted", "sort": "first_name"}).json()["contacts"]
    assert [(c["first_name"], c["city"]) for c in found] == [("Avi", "red"), ("Gal", "green")]
    assert client.get("/api/v1/groups/Pasted").json()["category"] == "wizard"
    runs = client.get("/runs").text
    assert f'href="/runs/{run}"' in runs and "pasted.csv" in runs
    run_page = client.get(f"/runs/{run}").text
    assert h1(run_page) == f"Import {run}: pasted.csv" and "Undo this import" in run_page
    assert "undone" in said(post(client, f"/runs/{run}/undo", {}, came=f"/runs/{run}"))["note"]
    assert client.get("/api/v1/contacts", params={"group": "Pasted", "all": True}).json()["total"] == 0
    assert "once only" in said(post(client, f"/runs/{run}/undo", {}, came=f"/runs/{run}"))["problem"]


def test_the_wizard_skips_the_group_step_for_a_file_with_a_groups_column(client, server):
    rows = "Phone,Segment\n052-600-1001,Segmented\n"
    columns = post(client, "/import", {"pasted": rows}, came="/import").headers["location"]
    answer = post(client, columns, {"col_0": "phone", "col_1": "groups"}, came=columns)
    assert "/import/jobs/" in answer.headers["location"]
    assert "Done." in wait_for_summary(client, answer.headers["location"])
    assert client.get("/api/v1/groups/Segmented").json()["contacts"] == 1


def test_the_wizard_header_choice_and_refusals(client, tmp_path):
    nothing = post(client, "/import", {}, came="/import")
    assert "Choose a file" in said(nothing)["problem"]
    broken = post(client, "/import", {}, came="/import",
                  files={"file": ("broken.xlsx", b"PK\x03\x04 not really a workbook", "application/octet-stream")})
    assert said(broken)["problem"] and "/import" == broken.headers["location"].split("?")[0]
    columns = post(client, "/import", {"pasted": "052-600-2001,a@example.com\n052-600-2002,b@example.com\n"},
                   came="/import").headers["location"]
    page = client.get(columns).text
    assert "no header row" in page
    again = client.get(columns, params={"no_header": "false", "header_row": "9"})
    assert again.status_code == 303 and "problem" in said(again)
    assert client.get(columns, params={"no_header": "true"}).status_code == 200
    cancel = post(client, columns.replace("/columns", "/cancel"), {}, came=columns)
    assert "cancelled" in said(cancel)["note"]
    assert client.get(columns).status_code == 404


def test_another_session_cannot_see_an_upload(client, server):
    columns = post(client, "/import", {"pasted": "Phone\n052-600-3001\n"}, came="/import").headers["location"]
    other = signed_in(server.url)
    assert other.get(columns).status_code == 404
    assert client.get(columns).status_code == 200


def test_the_wizard_shows_a_long_workbook_from_its_first_rows_and_imports_it_whole(client, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Mobile"])
    for i in range(300):
        sheet.append([f"Long {i}", f"052-700-{i:04d}"])
    data = io.BytesIO()
    book.save(data)
    answer = post(client, "/import", {}, came="/import",
                  files={"file": ("long list.xlsx", data.getvalue(), "application/octet-stream")})
    columns = answer.headers["location"]
    page = client.get(columns).text
    assert "its first rows shown" in page and "300 data rows" not in page
    job = post(client, columns, {"col_0": "first_name", "col_1": "phone"}, came=columns).headers["location"]
    group = job if "/import/jobs/" in job else post(client, job.replace("/group", "/start"), {"choice": "none"},
                                                     came=job).headers["location"]
    assert "Done." in wait_for_summary(client, group)
    assert client.get("/api/v1/contacts", params={"search": "Long"}).json()["total"] == 300
