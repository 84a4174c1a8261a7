"""The API's groups and opt-outs over HTTP, against `contacts serve` on a real store."""

from __future__ import annotations

from api_server import TOKEN_NAME, add, problem_of


def members(api, name: str) -> set[int]:
    r = api.get(f"/api/v1/groups/{name}/members", params={"all": True})
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["contacts"]}


def test_create_show_edit_list_and_delete_a_group(server, api):
    r = api.post("/api/v1/groups", json={"name": "  Newsletter ", "category": "marketing"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["name"], made["category"], made["type"], made["active_contacts"]) == \
        ("Newsletter", "marketing", "static", 0)
    assert api.get("/api/v1/groups/Newsletter").json() == made
    taken = api.post("/api/v1/groups", json={"name": "newsletter"})
    assert taken.status_code == 409 and problem_of(taken)["detail"] == "A group named 'Newsletter' already exists."
    r = api.patch("/api/v1/groups/Newsletter", json={"rename": "Newsletter 2027", "category": "news"})
    assert r.status_code == 200 and (r.json()["name"], r.json()["category"]) == ("Newsletter 2027", "news")
    r = api.patch("/api/v1/groups/Newsletter 2027", json={"category": ""})
    assert r.json()["category"] is None
    assert api.get("/api/v1/groups/Newsletter").status_code == 404
    listed = api.get("/api/v1/groups").json()
    assert [g["name"] for g in listed] == [g["name"] for g in server.cli_json("groups", "list", "--json")]
    assert "Newsletter 2027" in [g["name"] for g in listed]
    r = api.delete("/api/v1/groups/Newsletter 2027")
    assert r.status_code == 200 and r.json() == {"name": "Newsletter 2027", "members": 0}
    assert api.get("/api/v1/groups/Newsletter 2027").status_code == 404


def test_members_added_and_removed_by_id_phone_and_email(api):
    assert api.post("/api/v1/groups", json={"name": "Members"}).status_code == 201
    a = add(api, phone="052-710-0001")
    b = add(api, phone="052-710-0002", email="b.member@example.com")
    c = add(api, email="c.member@example.com")
    r = api.post("/api/v1/groups/Members/members", json={"contact_ids": [a["id"]]})
    assert r.status_code == 200 and r.json() == {"group": "Members", "added": 1, "already": 0, "unresolved": []}
    r = api.post("/api/v1/groups/Members/members", json={"phones": ["0527100002", "052-710-9999"],
                                                         "emails": ["C.Member@Example.com"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"group": "Members", "added": 2, "already": 0, "unresolved": ["+972527109999"]}
    assert members(api, "Members") == {a["id"], b["id"], c["id"]}
    page = api.get("/api/v1/groups/Members/members", params={"limit": 2, "sort": "id:desc"}).json()
    assert [x["id"] for x in page["contacts"]] == [c["id"], b["id"]] and page["total"] == 3
    r = api.post("/api/v1/groups/Members/members/remove", json={"emails": ["b.member@example.com"],
                                                                "contact_ids": [a["id"]]})
    assert r.status_code == 200 and r.json()["removed"] == 2
    assert members(api, "Members") == {c["id"]}
    missing = api.post("/api/v1/groups/Members/members", json={"contact_ids": [987_654]})
    assert missing.status_code == 404
    assert problem_of(missing)["detail"] == "No contact has the id 987654; nothing was changed."
    assert members(api, "Members") == {c["id"]}
    assert api.post("/api/v1/groups/No group/members", json={"contact_ids": [c["id"]]}).status_code == 404
    assert api.post("/api/v1/groups/Members/members", json={}).status_code == 400


def test_merge_moves_members_and_deletes_the_source(api):
    a, b = add(api, phone="052-720-0001", groups=["Merge from"]), add(api, phone="052-720-0002",
                                                                      groups=["Merge from", "Merge into"])
    r = api.post("/api/v1/groups/Merge from/merge", json={"into": "Merge into"})
    assert r.status_code == 200, r.text
    assert r.json() == {"source": "Merge from", "into": "Merge into", "members": 2, "added": 1, "already": 1}
    assert members(api, "Merge into") == {a["id"], b["id"]}
    assert api.get("/api/v1/groups/Merge from").status_code == 404


# --------------------------------------------------------------------------- opt-outs


def test_optouts_added_listed_removed_with_their_history(server, api):
    held = add(api, phone="052-730-0001", email="held@example.com")
    r = api.post("/api/v1/optouts", json={"value": "052-730-9999", "reason": "replied STOP"})
    assert r.status_code == 201 and r.json() == {"added": 1, "already": 0, "invalid": 0, "invalid_values": []}
    r = api.post("/api/v1/optouts", json={"values": ["x@@", "Out@Example.com", "052-730-9999"],
                                          "contact_ids": [held["id"]], "reason": "asked by phone"})
    assert r.status_code == 201
    assert r.json() == {"added": 3, "already": 1, "invalid": 1, "invalid_values": ["x@@"]}
    assert api.get(f"/api/v1/contacts/{held['id']}", params={"all": True}).json()["phone_status"] == "opted_out"
    listed = api.get("/api/v1/optouts").json()
    assert {(o["channel"], o["value"]) for o in listed} >= {
        ("sms", "+972527309999"), ("email", "out@example.com"), ("sms", "+972527300001"),
        ("email", "held@example.com")}
    mine = next(o for o in listed if o["value"] == "+972527300001")
    assert mine["contact_id"] == held["id"] and mine["reason"] == "asked by phone"
    assert mine["by"] == f"token {TOKEN_NAME}" and mine["source"] == "api"
    emails = api.get("/api/v1/optouts", params={"channel": "email"}).json()
    assert {o["channel"] for o in emails} == {"email"}
    r = api.post("/api/v1/optouts/remove", json={"value": "052 730 9999", "reason": "opted in on the web form"})
    assert r.status_code == 200 and r.json() == {"channel": "sms", "value": "+972527309999", "opted_out": False}
    h = api.get("/api/v1/optouts/history", params={"value": "+972527309999"}).json()
    assert h["opted_out"] is False
    assert [(e["action"], e["reason"], e["by"]) for e in h["events"]] == [
        ("opt_out", "replied STOP", f"token {TOKEN_NAME}"),
        ("opt_in", "opted in on the web form", f"token {TOKEN_NAME}")]
    assert h["events"] == server.cli_json("optout", "history", "052-730-9999", "--json")
    again = api.post("/api/v1/optouts/remove", json={"value": "052 730 9999", "reason": "twice"})
    assert again.status_code == 404 and problem_of(again)["detail"] == "+972527309999 is not on the opt-out list."
    no_reason = api.post("/api/v1/optouts/remove", json={"value": "held@example.com", "reason": ""})
    assert no_reason.status_code == 422 and problem_of(no_reason)["detail"].startswith("reason")
    assert api.post("/api/v1/optouts", json={"reason": "nothing"}).status_code == 400


def test_a_pasted_list_is_opted_out(api):
    r = api.post("/api/v1/optouts/import", json={"text": "Mobile\n052-740-0001\n052-740-0002\nnot a phone\n",
                                                 "reason": "list from the call centre"})
    assert r.status_code == 200, r.text
    assert (r.json()["added"], r.json()["invalid"]) == (2, 1)
    h = api.get("/api/v1/optouts/history", params={"value": "0527400002"}).json()
    assert h["opted_out"] and h["events"][0]["source"] == "pasted list"
    assert h["events"][0]["reason"] == "list from the call centre"
