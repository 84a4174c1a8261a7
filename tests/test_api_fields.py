"""The API's fields and recipients over HTTP, against `contacts serve` on a real store."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import openpyxl
import pytest
from api_server import problem_of, start_server

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("fields")
    (root / "home" / "config").mkdir(parents=True)
    shutil.copy(REPO_CONFIG / "fields.yaml", root / "home" / "config" / "fields.yaml")  # the commented example
    s = start_server(root)
    yield s
    assert s.stop() == 0


def test_fields_list_and_schema_are_the_commands(server, api):
    listed = api.get("/api/v1/fields")
    assert listed.status_code == 200
    assert listed.json() == server.cli_json("fields", "list", "--json")
    schema = api.get("/api/v1/fields/schema").json()
    assert schema == server.cli_json("fields", "schema")
    assert schema["title"] == "Contact" and "phone" in schema["properties"]


def test_a_custom_field_is_added_to_fields_yaml_its_comments_kept(server, api):
    path = server.home / "config" / "fields.yaml"
    before = path.read_text(encoding="utf-8")
    comments = [line.strip() for line in before.splitlines() if line.strip().startswith("#")]
    r = api.post("/api/v1/fields", json={"name": "loyalty_tier", "type": "choice", "label": "Loyalty tier",
                                         "choices": ["gold", "silver"], "aliases": ["Tier"]})
    assert r.status_code == 201, r.text
    assert r.json() == {"name": "loyalty_tier", "type": "choice", "kind": "custom", "aliases": ["Tier"],
                        "choices": ["gold", "silver"], "label": "Loyalty tier", "filled": 0}
    after = path.read_text(encoding="utf-8")
    assert [line.strip() for line in after.splitlines() if line.strip().startswith("#")] == comments
    assert "loyalty_tier" in after
    made = api.post("/api/v1/contacts", json={"phone": "052-810-0001", "loyalty_tier": "Gold"})
    assert made.status_code == 201, made.text
    assert made.json()["loyalty_tier"] == "gold"
    assert "loyalty_tier" in api.get("/api/v1/fields/schema").json()["properties"]
    assert [f["name"] for f in server.cli_json("fields", "list", "--json")][-1] == "loyalty_tier"


def test_a_reserved_name_is_refused_with_the_config_loaders_sentence(server, api):
    path = server.home / "config" / "fields.yaml"
    before = path.read_text(encoding="utf-8")
    r = api.post("/api/v1/fields", json={"name": "phone_status"})
    assert r.status_code == 422
    n = sum(1 for f in api.get("/api/v1/fields").json() if f["kind"] == "custom")
    assert problem_of(r)["detail"] == (f"config/fields.yaml: key `custom_fields.{n}.name`: `phone_status` is a "
                                       "name the store uses for its own columns; choose another.")
    assert path.read_text(encoding="utf-8") == before
    assert api.post("/api/v1/fields", json={"name": "twice_added"}).status_code == 201
    taken = api.post("/api/v1/fields", json={"name": "twice_added"})
    assert taken.status_code == 400 and problem_of(taken)["detail"] == "There is already a custom field 'twice_added'."


def test_a_21st_field_is_refused(tmp_path):
    server = start_server(tmp_path)  # a home of its own: the other tests add fields too
    try:
        with server.client() as api:
            for n in range(20):
                r = api.post("/api/v1/fields", json={"name": f"extra_{n}"})
                assert r.status_code == 201, r.text
            r = api.post("/api/v1/fields", json={"name": "one_too_many"})
            assert r.status_code == 400
            assert problem_of(r)["detail"] == "There are 20 custom fields already, the most there can be."
        assert "one_too_many" not in (server.home / "config" / "fields.yaml").read_text(encoding="utf-8")
    finally:
        assert server.stop() == 0


# --------------------------------------------------------------------------- recipients


@pytest.fixture(scope="module")
def senders(api):
    """The group Senders: two mobiles, a landline (no sms) and an opted-out mobile."""
    for n, (phone, email) in enumerate([("052-820-0001", "r1@example.com"), ("052-820-0002", None),
                                        ("03-555-0001", "r3@example.com"), ("052-820-0004", "r4@example.com")]):
        body = {"phone": phone, "first_name": f"Recipient{n}", "groups": ["Senders"]}
        if email:
            body["email"] = email
        assert api.post("/api/v1/contacts", json=body).status_code == 201
    assert api.post("/api/v1/optouts", json={"value": "052-820-0004"}).status_code == 201
    return "Senders"


def test_recipients_are_the_commands_list(server, api, senders):
    r = api.get("/api/v1/recipients", params={"group": "Senders", "channel": "sms"})
    assert r.status_code == 200
    listed = r.json()
    assert [x["value"] for x in listed] == ["+972528200001", "+972528200002"]  # a landline takes no sms
    assert listed == server.cli_json("recipients", "--group", "Senders", "--channel", "sms", "--json")
    both = api.get("/api/v1/recipients", params={"group": "Senders"}).json()
    assert both == server.cli_json("recipients", "--group", "Senders", "--json")
    assert api.get("/api/v1/recipients").json() == server.cli_json("recipients", "--json")
    unknown = api.get("/api/v1/recipients", params={"group": "Nobody"})
    assert unknown.status_code == 404


def test_recipients_of_an_uploaded_list_and_their_export(api, senders):
    listing = "Phone\n052-820-0001\n052-820-0004\n052-820-0999\nnonsense\n"
    r = api.post("/api/v1/recipients", files={"file": ("list.csv", listing.encode(), "text/csv")},
                 data={"channel": "sms"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["value"] for x in body["recipients"]] == ["+972528200001", "+972528200999"]
    assert "opted out" in body["summary"] or "opted_out" in body["summary"]
    r = api.get("/api/v1/recipients/export", params={"group": "Senders", "channel": "sms", "format": "csv"})
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["contact_id", "channel", "value"] and [row[2] for row in rows[1:]] == [
        "+972528200001", "+972528200002"]
    r = api.get("/api/v1/recipients/export", params={"group": "Senders", "channel": "sms"})
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in ws["C"]][1:] == ["+972528200001", "+972528200002"]
