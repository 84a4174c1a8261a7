"""The API's contacts over HTTP, against `contacts serve` on a real store: list, search, sort, pages, one contact,
add, edit, delete, exports; and its errors, each the sentence the command line prints for the same mistake."""

from __future__ import annotations

import csv
import io

import openpyxl
from api_server import add, problem_of


def test_a_contact_is_added_and_answered_as_show_json_prints_it(server, api):
    r = api.post("/api/v1/contacts", json={"phone": "052-345-6789", "first_name": "Dana"})
    assert r.status_code == 201
    made = r.json()
    assert made["phone"] == "+972523456789" and made["first_name"] == "Dana" and made["phone_status"] == "active"
    assert r.headers["location"] == f"/api/v1/contacts/{made['id']}"
    assert made == server.cli_json("show", str(made["id"]), "--json")
    assert api.get(f"/api/v1/contacts/{made['id']}").json() == made


def test_get_and_national_phones(api):
    made = add(api, phone="0523112233", email="Get@Example.com", groups=["Getters"])
    got = api.get(f"/api/v1/contacts/{made['id']}").json()
    assert got["email"] == "get@example.com" and got["groups"] == ["Getters"]
    national = api.get(f"/api/v1/contacts/{made['id']}", params={"phone_format": "national"}).json()
    assert national["phone"] == "052-311-2233"


def test_search_by_a_phone_fragment_sort_and_pages(server, api):
    ids = [add(api, phone=f"054-765-43{n:02d}", first_name=f"Paging{n:02d}", last_name="Searched")["id"]
           for n in range(7)]
    add(api, phone="053-999-0000", first_name="Other", last_name="Searched")
    found = api.get("/api/v1/contacts", params={"search": "054 765"}).json()
    assert sorted(c["id"] for c in found["contacts"]) == ids
    assert found["total"] == 7
    listed = api.get("/api/v1/contacts", params={"search": "searched", "sort": "first_name:desc",
                                                 "limit": 3, "offset": 2}).json()
    assert [c["first_name"] for c in listed["contacts"]] == ["Paging04", "Paging03", "Paging02"]
    assert (listed["total"], listed["offset"], listed["limit"]) == (8, 2, 3)
    everything = server.cli_json("list", "--search", "searched", "--sort", "first_name:desc", "--json")
    assert [c["id"] for c in everything[2:5]] == [c["id"] for c in listed["contacts"]]


def test_list_by_group_and_all(api):
    a = add(api, phone="052-200-0001", first_name="Grouped", groups=["Listed by group"])
    b = add(api, phone="052-200-0002", first_name="Grouped")
    in_group = api.get("/api/v1/contacts", params={"group": "Listed by group"}).json()
    assert [c["id"] for c in in_group["contacts"]] == [a["id"]]
    r = api.post("/api/v1/optouts", json={"contact_ids": [b["id"]], "reason": "test"})
    assert r.status_code == 201, r.text
    active = {c["id"] for c in api.get("/api/v1/contacts", params={"search": "Grouped"}).json()["contacts"]}
    assert active == {a["id"]}
    every = {c["id"] for c in api.get("/api/v1/contacts", params={"search": "Grouped", "all": True}).json()
             ["contacts"]}
    assert every == {a["id"], b["id"]}


def test_edit_changes_fields_and_says_what_changed(server, api):
    made = add(api, phone="052-300-0001", first_name="Edit", city="Haifa", company="Acme")
    r = api.patch(f"/api/v1/contacts/{made['id']}", json={"city": "Tel Aviv", "company": None})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["city"] == "Tel Aviv" and body["company"] is None and sorted(body["changed"]) == ["city", "company"]
    shown = server.cli_json("show", str(made["id"]), "--json")
    assert {k: v for k, v in body.items() if k != "changed"} == shown


def test_delete_one_and_several(api):
    one = add(api, phone="052-400-0001")
    r = api.delete(f"/api/v1/contacts/{one['id']}")
    assert r.status_code == 200 and r.json()["id"] == one["id"]
    assert api.get(f"/api/v1/contacts/{one['id']}").status_code == 404
    two, three = add(api, phone="052-400-0002"), add(api, phone="052-400-0003")
    missing = api.post("/api/v1/contacts/delete", json={"ids": [two["id"], 999_999]})
    assert missing.status_code == 404
    assert api.get(f"/api/v1/contacts/{two['id']}").status_code == 200  # none deleted
    r = api.post("/api/v1/contacts/delete", json={"ids": [two["id"], three["id"]]})
    assert r.status_code == 200 and sorted(c["id"] for c in r.json()) == [two["id"], three["id"]]


def test_export_as_xlsx_and_csv(api):
    add(api, phone="052-500-0001", first_name="Exported", groups=["Export group"])
    r = api.get("/api/v1/contacts/export", params={"group": "Export group"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    head = rows[0]
    assert len(rows) == 2 and rows[1][head.index("first_name")] == "Exported"
    assert rows[1][head.index("phone")] == "+972525000001"
    r = api.get("/api/v1/contacts/export", params={"group": "Export group", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][rows[0].index("phone")] == "+972525000001"


# --------------------------------------------------------------------------- errors, as the command line says them


def same_sentence(server, response, status: int, *command: str) -> str:
    """The API's problem detail is the sentence the command prints on stderr for the same mistake."""
    body = problem_of(response)
    assert response.status_code == status
    done = server.cli(*command)
    assert done.returncode != 0
    # the command may first say it waits for the database the server holds; its error is the last line
    assert body["detail"] == done.stderr.strip().splitlines()[-1]
    return body["detail"]


def test_errors_are_the_command_lines_sentences(server, api):
    detail = same_sentence(server, api.get("/api/v1/contacts/987654"), 404, "show", "987654")
    assert detail == "No contact has the id 987654."
    add(api, phone="052-600-0001")
    same_sentence(server, api.post("/api/v1/contacts", json={"phone": "052-600-0001"}), 409,
                  "add", "--phone", "052-600-0001")
    same_sentence(server, api.post("/api/v1/contacts", json={"phone": "12"}), 422, "add", "--phone", "12")
    same_sentence(server, api.get("/api/v1/groups/No such group"), 404, "groups", "show", "No such group")
    same_sentence(server, api.post("/api/v1/contacts", json={"phone": "052-600-0002", "bogus": "x"}), 400,
                  "add", "--phone", "052-600-0002", "--set", "bogus=x")
    same_sentence(server, api.get("/api/v1/contacts", params={"sort": "bogus"}), 400,
                  "list", "--sort", "bogus", "--json")


def test_a_request_the_api_cannot_read_is_a_problem_too(api):
    for r in (api.get("/api/v1/contacts", params={"limit": 0}),
              api.get("/api/v1/contacts/not-a-number"),
              api.post("/api/v1/contacts", content=b"{not json", headers={"content-type": "application/json"}),
              api.post("/api/v1/contacts", json=[1, 2]),
              api.post("/api/v1/contacts/delete", json={"ids": []})):
        body = problem_of(r)
        assert r.status_code == 422 and body["detail"].endswith(".")
    assert problem_of(api.get("/api/v1/contacts", params={"limit": 0}))["detail"] == \
        "limit: Input should be greater than or equal to 1."
    assert problem_of(api.get("/api/v1/nothing/here")).get("status") == 404
