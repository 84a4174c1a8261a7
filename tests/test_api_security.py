"""The API's guards, tested against `contacts serve` as an attacker and a careless client would meet them:
no answer without a token or a session, no change by a session without its CSRF token, no token in any log,
uploads through the inbox's guards, exports whose cells cannot run as formulas, and 127.0.0.1 by default."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import tempfile
from pathlib import Path

import httpx
import openpyxl
import psutil
import pytest
from api_server import OPERATOR, PASSWORD, create_token, problem_of, start_server
from helpers import make_home
from test_zipsafe import SHEET_HEAD, deflated_blanks, package

from pipeline.config import load_config
from pipeline.web import create_app

#: The only routes that answer without a session or a token.
OPEN_ROUTES = {"/api/v1/openapi.json", "/api/v1/docs", "/login"}
#: What each path parameter is replaced with when every route is called.
PATH_VALUES = {"contact_id": "1", "name": "VIP", "run_id": "1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("security")
    # uploads over 1 MB are refused, as files over max_file_mb are in the inbox
    s = start_server(root, pipeline="max_file_mb: 1\n")
    yield s
    assert s.stop() == 0


def flat(routes) -> list[tuple[str, set[str]]]:
    """Each route's path and methods; a router included lazily (FastAPI 0.16x) gives each of its routes."""
    found = []
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            found += [(c.path_format, set(c.methods or ())) for c in route.effective_route_contexts()]
        else:
            found.append((getattr(route, "path_format", route.path), set(getattr(route, "methods", None) or ())))
    return found


def routes() -> list[tuple[str, str]]:
    """Every method and path the application serves (the console's pages too), path parameters filled in."""
    app = create_app(load_config(make_home(Path(tempfile.mkdtemp(prefix="contacts-routes-")) / "home")))
    try:
        return [(method, re.sub(r"{(\w+)(:\w+)?}", lambda m: PATH_VALUES.get(m.group(1), "x"), path))
                for path, methods in flat(app.routes) for method in sorted(methods - {"HEAD"})]
    finally:
        app.state.keeper.close()


def test_every_route_but_the_open_ones_answers_401_without_a_session_or_token(server):
    called = []
    with httpx.Client(base_url=server.base, timeout=30, follow_redirects=False) as anonymous:
        for method, path in routes():
            if path in OPEN_ROUTES:
                continue
            r = anonymous.request(method, path)
            assert r.status_code == 401, f"{method} {path}: {r.status_code}"
            if path.startswith("/api/"):
                assert problem_of(r)["detail"].startswith("Sign in first")
                assert r.headers["www-authenticate"].startswith("Bearer")
            called.append(path)
        assert "/api/v1/contacts" in called and "/api/v1/imports/1/undo" in called
        assert anonymous.get("/api/v1/openapi.json").status_code == 200
        assert anonymous.get("/login").status_code == 200
        # a route that does not exist does not tell an anonymous caller so
        assert anonymous.get("/api/v1/nothing").status_code in (401, 404)


def test_an_anonymous_upload_is_refused_before_its_body_is_read(server):
    """The answer comes while the client has sent 100 bytes of a declared 50 MB: nothing waits for the rest."""
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/imports HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\n\r\n" + b"--b\r\n" + b"x" * 94)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"application/problem+json" in answer


def test_a_wrong_or_revoked_token_is_refused(server):
    with server.client(token="ct_not-a-real-token") as wrong:
        r = wrong.get("/api/v1/contacts")
        assert r.status_code == 401
        assert problem_of(r)["detail"] == ("The API token is not valid (revoked, or mistyped); `contacts tokens "
                                           "create` makes one.")
    with httpx.Client(base_url=server.base, headers={"Authorization": "Basic abc"}) as basic:
        assert basic.get("/api/v1/contacts").status_code == 401
    other = create_token(server.home, "short-lived")
    with server.client(token=other) as c:
        assert c.get("/api/v1/contacts").status_code == 200
        revoked = server.cli("tokens", "revoke", "short-lived")
        assert revoked.returncode == 0, revoked.stderr
        r = c.get("/api/v1/contacts")
        assert r.status_code == 401 and problem_of(r)["detail"].startswith("The API token is not valid")


def sign_in(server) -> httpx.Client:
    """A browser's session: the login page's CSRF cookie and field, then the form posted."""
    browser = httpx.Client(base_url=server.base, timeout=30)
    page = browser.get("/login")
    field = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = browser.post("/login", data={"name": OPERATOR, "password": PASSWORD, "csrf": field, "next": "/"})
    assert r.status_code == 303, r.text
    assert "contacts_session" in browser.cookies
    return browser


def test_a_session_changes_nothing_without_its_csrf_token(server):
    browser = sign_in(server)
    try:
        assert browser.get("/api/v1/groups").status_code == 200  # reading needs no CSRF token
        r = browser.post("/api/v1/groups", json={"name": "Forged"})
        assert r.status_code == 403
        assert "CSRF" in problem_of(r)["detail"]
        r = browser.post("/api/v1/groups", json={"name": "Forged"}, headers={"X-CSRF-Token": "guessed"})
        assert r.status_code == 403
        token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/contacts").text).group(1)
        r = browser.post("/api/v1/groups", json={"name": "Made in the console"}, headers={"X-CSRF-Token": token})
        assert r.status_code == 201, r.text
        assert browser.get("/api/v1/groups/Forged").status_code == 404
    finally:
        browser.close()


def test_a_wrong_password_opens_no_session(server):
    with httpx.Client(base_url=server.base, timeout=30) as browser:
        field = re.search(r'name="csrf" value="([^"]+)"', browser.get("/login").text).group(1)
        r = browser.post("/login", data={"name": OPERATOR, "password": "wrong", "csrf": field})
        assert r.status_code == 401 and "contacts_session" not in browser.cookies
        r = browser.post("/login", data={"name": OPERATOR, "password": PASSWORD, "csrf": "forged"})
        assert r.status_code == 403 and "contacts_session" not in browser.cookies


def test_no_token_reaches_the_servers_output_or_logs(server, api):
    wrong = "ct_wrong-token-" + "x" * 30
    with server.client(token=wrong) as bad:
        for _ in range(5):
            bad.get("/api/v1/contacts")
    for _ in range(5):
        api.get("/api/v1/contacts", params={"search": "anything"})
        api.get("/api/v1/contacts/987654")
        api.post("/api/v1/contacts", json={"phone": "12"})
        api.post("/api/v1/contacts", content=b"{broken", headers={"content-type": "application/json"})
        api.post("/api/v1/imports", files={"file": ("x.csv", b"phone\n12\n")})
    assert api.get("/api/v1/contacts").status_code == 200
    written = server.output()
    logs = server.home / "logs"
    if logs.is_dir():
        written += "".join(p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file())
    assert "GET /api/v1/contacts" in written  # the access log is there, the token is not
    assert server.token not in written and wrong not in written
    assert server.token[3:20] not in written


# --------------------------------------------------------------------------- uploads


def cli_reason(server, path) -> str:
    """What `contacts import FILE` says of a file that fails: its summary's reason."""
    done = server.cli("import", str(path), "--json")
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout)[0]["reason"]


def failed_upload(api, name: str, content: bytes) -> dict:
    r = api.post("/api/v1/imports", files={"file": (name, content)})
    body = problem_of(r)
    assert r.status_code == 422
    return body


def test_a_zip_bomb_and_a_pdf_are_refused_as_the_inbox_refuses_them(server, api, tmp_path):
    data, real, crc = deflated_blanks(SHEET_HEAD, 300, b"</worksheet>")
    bomb = package(tmp_path / "bomb.xlsx", ("xl/worksheets/sheet1.xml", data, 8, len(SHEET_HEAD) + 40_000, crc))
    assert bomb.stat().st_size < 1_000_000 < real
    body = failed_upload(api, "bomb.xlsx", bomb.read_bytes())
    assert body["summary"]["reason"] == cli_reason(server, bomb)
    assert "zip bomb" in body["detail"]
    pdf = tmp_path / "invoice.xlsx"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n")
    body = failed_upload(api, "invoice.xlsx", pdf.read_bytes())
    assert body["summary"]["reason"] == cli_reason(server, pdf)


def test_an_oversize_upload_is_refused_with_the_inboxs_sentence(server, api, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"phone\n" + b"052-345-6789\n" * 120_000)  # 1.56 MB, over max_file_mb: 1
    r = api.post("/api/v1/imports", files={"file": ("big.csv", big.read_bytes())})
    assert r.status_code == 422
    assert problem_of(r)["detail"] == cli_reason(server, big)
    r = api.post("/api/v1/recipients", files={"file": ("big.csv", big.read_bytes())})
    assert r.status_code == 422 and problem_of(r)["detail"] == cli_reason(server, big)


def test_an_uploads_name_stays_inside_its_own_folder(server, api):
    r = api.post("/api/v1/imports", files={"file": ("../../etc/x.csv", b"first_name,phone\nTraversal,052-960-0001\n")})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["file"] == "x.csv"
    folder = server.home / "outbox" / s["outbox"]
    assert folder.resolve().parent == (server.home / "outbox").resolve()
    assert (folder / "x.csv").is_file()
    assert not (server.home.parent / "etc").exists() and not (server.home / "etc").exists()
    for name in ("..", "/", "a\nb.csv", "x" * 400 + ".csv"):
        r = api.post("/api/v1/imports/map", files={"file": (name, b"first_name,phone\nA,052-960-0002\n")})
        assert r.status_code == 200, (name, r.text)


# --------------------------------------------------------------------------- exports


def test_an_exported_cell_cannot_run_as_a_formula(api):
    hostile = ['=HYPERLINK("http://x","y")', "+SUM(1)", "@cmd", "-2+3"]
    for n, name in enumerate(hostile):
        r = api.post("/api/v1/contacts", json={"phone": f"052-970-000{n}", "first_name": name,
                                               "groups": ["Formulas"]})
        assert r.status_code == 201, r.text
        assert r.json()["first_name"] == name  # stored as typed
    r = api.get("/api/v1/contacts/export", params={"group": "Formulas", "format": "csv", "sort": "id"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    names = [row[rows[0].index("first_name")] for row in rows[1:]]
    assert names == ["'" + n for n in hostile]
    assert [row[rows[0].index("phone")] for row in rows[1:]][0] == "+972529700000"  # a phone stays as it is
    r = api.get("/api/v1/contacts/export", params={"group": "Formulas", "sort": "id"})
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in ws[1]]
    cells = [row[header.index("first_name")] for row in ws.iter_rows(min_row=2)]
    assert [c.value for c in cells] == hostile
    assert all(c.data_type == "s" for c in cells)  # text, not a formula ("f")


# --------------------------------------------------------------------------- where it listens


def test_the_server_listens_on_127_0_0_1_by_default(server):
    listening = [c for c in psutil.Process(server.proc.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and {c.laddr.ip for c in listening} == {"127.0.0.1"}
    done = server.cli("serve", "--help")
    assert "[default: 127.0.0.1]" in " ".join(done.stdout.split())
