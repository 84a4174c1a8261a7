"""The API's imports over HTTP, against `contacts serve` on a real store: uploads, options, runs, rejects, undo."""

from __future__ import annotations

import io

import openpyxl
from api_server import problem_of, start_server
from helpers import xlsx


def upload(api, name: str, content: bytes, **form) -> tuple[int, dict]:
    r = api.post("/api/v1/imports", files={"file": (name, content)}, data=form)
    return r.status_code, r.json()


def workbook(tmp_path, rows) -> bytes:
    return xlsx(tmp_path / "book.xlsx", rows).read_bytes()


def count(api, search: str) -> int:
    return api.get("/api/v1/contacts", params={"search": search, "all": True}).json()["total"]


def test_an_xlsx_is_imported_and_answers_its_run(server, api, tmp_path):
    book = workbook(tmp_path, [["First name", "Mobile", "Email"], ["Xl One", "052-910-0001", "x1@example.com"],
                               ["Xl Two", "052-910-0002", "not an email"], ["Xl Bad", "12", ""]])
    status, s = upload(api, "crm.xlsx", book, group="Imported")
    assert status == 200, s
    assert s["status"] == "done" and s["file"] == "crm.xlsx"
    assert (s["rows"]["total"], s["rows"]["new"], s["rows"]["rejected"]) == (3, 2, 1)
    assert s["rows_with_dropped_values"] == 1 and s["rejects_file"]
    assert isinstance(s["run"], int)
    run = api.get(f"/api/v1/imports/{s['run']}").json()
    assert run["run"] == s["run"] and run["rows"] == s["rows"] and run["outbox"] == s["outbox"]
    assert api.get("/api/v1/imports").json() == server.cli_json("runs", "--json")
    assert count(api, "Xl") == 2
    assert api.get("/api/v1/groups/Imported").json()["contacts"] == 2
    r = api.get(f"/api/v1/imports/{s['run']}/rejects")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert "Reject reason" in rows[0] and len(rows) == 3  # the rejected row and the one with a dropped value
    again_status, again = upload(api, "crm-again.xlsx", book)
    assert again_status == 200 and again["status"] == "duplicate" and again["rows"]["new"] == 0


def test_a_csv_is_imported_as_paste_would(api):
    text = "first_name,phone\nCsv One,052-920-0001\nCsv Two,052-920-0002\n".encode()
    status, s = upload(api, "paste.csv", text)
    assert status == 200 and s["rows"]["new"] == 2 and s["rejects_file"] is None
    missing = api.get(f"/api/v1/imports/{s['run']}/rejects")
    assert missing.status_code == 404 and problem_of(missing)["detail"] == \
        f"Import {s['run']} rejected no row: it has no reject workbook."


def test_a_dry_run_writes_nothing(api):
    status, s = upload(api, "dry.csv", b"first_name,phone\nDry Run,052-930-0001\n", dry_run="true")
    assert status == 200 and s["dry_run"] is True and s["rows"]["new"] == 1 and s["run"] is None
    assert count(api, "Dry Run") == 0


def test_a_file_that_fails_is_422_with_its_summary(api):
    r = api.post("/api/v1/imports", files={"file": ("report.xlsx", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")})
    body = problem_of(r)
    assert r.status_code == 422
    s = body["summary"]
    assert s["status"] == "failed" and s["reason"] and s["rows"]["total"] == 0
    assert api.get(f"/api/v1/imports/{s['run']}").json()["status"] == "failed"
    assert body["detail"] == f"report.xlsx was not imported: {s['reason']}"


def test_column_and_header_choices(api, tmp_path):
    book = workbook(tmp_path, [["Spring list"], [], ["Name", "Cell No.", "Notes"], ["Opt One", "052-940-0001", "x"]])
    r = api.post("/api/v1/imports/map", files={"file": ("spring.xlsx", book)},
                 data={"header_row": "3", "map": ["Cell No.=phone", "Name=first_name"]})
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["header_row"] == 3 and preview["rows"] == 1
    by_header = {c["header"]: c for c in preview["columns"]}
    assert by_header["Cell No."]["field"] == "phone" and by_header["Notes"]["needs_choice"] is True
    status, s = upload(api, "spring.xlsx", book, header_row="3", map=["Cell No.=phone", "Name=first_name"],
                       ignore="Notes")
    assert status == 200, s
    assert s["rows"]["new"] == 1 and s["source"]["header_row"] == 3
    assert api.get("/api/v1/contacts", params={"search": "Opt One"}).json()["contacts"][0]["phone"] == "+972529400001"
    status, s = upload(api, "bare.csv", b"No Header,052-940-0002\n", no_header="true", map=["1=first_name"])
    assert status == 200 and s["rows"]["new"] == 1 and s["source"]["no_header"] is True
    assert count(api, "No Header") == 1
    bad = api.post("/api/v1/imports", files={"file": ("x.csv", b"a,b\n1,2\n")},
                   data={"header_row": "2", "no_header": "true"})
    assert bad.status_code == 400
    assert problem_of(bad)["detail"] == "--no-header and --header-row contradict each other; give one of them."


def test_an_import_is_undone(server, api):
    status, s = upload(api, "undo.csv", b"first_name,phone\nUndo One,052-950-0001\nUndo Two,052-950-0002\n")
    assert status == 200 and count(api, "Undo") == 2
    r = api.post(f"/api/v1/imports/{s['run']}/undo")
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == 2 and r.json()["run"] == s["run"]
    assert count(api, "Undo") == 0
    assert api.get(f"/api/v1/imports/{s['run']}").json()["undone_at"]
    twice = api.post(f"/api/v1/imports/{s['run']}/undo")
    assert twice.status_code == 409
    done = server.cli("runs", "undo", str(s["run"]))
    assert problem_of(twice)["detail"] == done.stderr.strip().splitlines()[-1]
    assert api.post("/api/v1/imports/987654/undo").status_code == 404
    assert api.get("/api/v1/imports/987654").status_code == 404


def test_the_template_downloads(api):
    r = api.get("/api/v1/imports/template")
    assert r.status_code == 200 and "contacts-template.xlsx" in r.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    headers = [c.value for c in ws[1]]
    assert "Phone" in headers or "phone" in [str(h).lower() for h in headers]


def test_the_map_preview_maps_as_the_import_does_with_labels_as_groups_in_pipeline_yaml(tmp_path):
    server = start_server(tmp_path, pipeline="labels_as_groups: true\n")
    try:
        with server.client() as api:
            data = b"Name,Mobile,Labels\nDana,052-345-6789,VIP ::: * myContacts\n"
            mapped = api.post("/api/v1/imports/map", files={"file": ("google.csv", data)}).json()
            assert [c["field"] for c in mapped["columns"]] == ["first_name", "phone", "groups"]
            done = api.post("/api/v1/imports", files={"file": ("google.csv", data)}).json()
            assert done["groups"][0]["name"] == "VIP"
    finally:
        assert server.stop() == 0
