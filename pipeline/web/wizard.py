"""The import wizard: a file pasted or uploaded, its columns mapped, a group chosen, then imported with progress.

The upload is kept between the stages in a private folder of its own in the
system's temporary folder (never in the inbox, whose daemon would take it too),
known only to the session that made it.  The preview reads it with the same
reader and limits as an import, so a file the inbox would refuse is refused
here with the same sentence; the import itself is `contacts import` run in the
background (`files.Jobs`), through the same guards, outbox folder and reject
workbook.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from .. import store
from ..config import Config
from ..errors import FileRejected, NotFound, PipelineError, UsageError
from ..fields import ColumnMap, catalog, fold
from ..manage import groups as groups_mod
from ..process import columns_for, import_choices
from ..read import Table, read_head
from . import files
from .auth import SESSION_COOKIE
from .deps import Cfg, Con, Who
from .pages import FormRoute, back, render

router = APIRouter(include_in_schema=False, route_class=FormRoute)

#: Data rows the mapping stage shows.
PREVIEW_ROWS = 10
#: Columns the preview shows at most (a wider file is mapped all the same).
PREVIEW_COLUMNS = 60
#: The name a pasted text is imported under (the reader goes by content, fields.yaml rules by name).
PASTED_NAME = "pasted.csv"


@dataclass
class Upload:
    """A file on its way through the wizard, and the choices made so far."""

    id: str
    session: str
    folder: Path
    path: Path
    made: float = field(default_factory=time.monotonic)
    group: str = ""
    header_row: int | None = None
    no_header: bool = False
    maps: tuple[str, ...] = ()
    groups_column: bool = False


class Uploads:
    """The wizard's uploads by id; each session sees its own, and one left for `KEEP_SECONDS` is removed."""

    KEEP_SECONDS = 6 * 3600

    def __init__(self) -> None:
        self._by_id: dict[str, Upload] = {}
        self._lock = threading.Lock()

    def add(self, session: str, folder: Path, path: Path, group: str = "") -> Upload:
        up = Upload(secrets.token_urlsafe(12), session, folder, path, group=group)
        now = time.monotonic()
        with self._lock:
            old = [u for u in self._by_id.values() if now - u.made > self.KEEP_SECONDS]
            for u in old:
                del self._by_id[u.id]
            self._by_id[up.id] = up
        for u in old:
            shutil.rmtree(u.folder, ignore_errors=True)
        return up

    def get(self, upload_id: str, session: str) -> Upload:
        with self._lock:
            found = self._by_id.get(upload_id)
        if found is None or found.session != session:
            raise NotFound("That upload is gone (imported, cancelled or too old); upload the file again.")
        return found

    def take(self, upload_id: str, session: str) -> Upload:
        """The upload, forgotten here: its folder is the import's now (or removed)."""
        found = self.get(upload_id, session)
        with self._lock:
            self._by_id.pop(upload_id, None)
        return found


def _uploads(request: Request) -> Uploads:
    return request.app.state.uploads


def _session(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


# --------------------------------------------------------------------------- stage 1: the file


@router.get("/import")
def import_page(request: Request, who: Who, cfg: Cfg, group: str = "") -> HTMLResponse:
    return render(request, "import_file.html", who, group=group, stage=1,
                  limit=f"{cfg.read_limits.max_bytes / (1 << 20):.0f} MB")


@router.get("/import/template")
def import_template(who: Who, cfg: Cfg) -> Response:
    """The example file: every field's header and a sample row."""
    return files.template_download(cfg)


@router.post("/import")
async def import_upload(request: Request, who: Who, cfg: Cfg, file: Annotated[UploadFile | None, File()] = None,
                        pasted: Annotated[str, Form()] = "", group: Annotated[str, Form()] = "") -> Response:
    """Keep the file (or the pasted rows) aside and read it once, so a file the inbox refuses is refused now."""
    where = "/import" + (f"?group={group}" if group else "")
    has_file = file is not None and bool(file.filename)
    if not has_file and not pasted.strip():
        return back(where, problem="Choose a file to upload, or paste rows (header first).")
    folder = Path(tempfile.mkdtemp(prefix="contacts-wizard-"))
    try:
        if has_file:
            path = files.save_upload(cfg, file, folder)
        else:
            data = pasted.encode("utf-8")
            if len(data) > cfg.read_limits.max_bytes:
                raise FileRejected("The pasted rows are over the size limit; upload them as a file in parts.")
            path = folder / PASTED_NAME
            path.write_bytes(data)
        read_head(path, limits=cfg.read_limits)  # refused now as the inbox would; a long file's first rows
    except PipelineError as e:
        shutil.rmtree(folder, ignore_errors=True)
        return back(where, problem=str(e))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    up = _uploads(request).add(_session(request), folder, path, group=group.strip())
    return back(f"/import/{up.id}/columns")


# --------------------------------------------------------------------------- stage 2: the columns


#: What a column can be besides a field.
SPECIAL_TARGETS = (("groups", "Groups (the row's group names)"), ("optout", "Opt out (yes/true/1/x)"),
                   ("ignore", "Ignore (not imported)"))


def _read(cfg: Config, up: Upload) -> Table:
    return read_head(up.path, limits=cfg.read_limits, header_row=up.header_row, no_header=up.no_header)


def _choice_key(table: Table, col: ColumnMap, folded: list[str]) -> str:
    """How a `--map` choice names this column: its header when that names it alone, else its number."""
    key = folded[col.index]
    if table.no_header or not key or folded.count(key) > 1:
        return str(col.index + 1) if table.no_header else f"Column {col.index + 1}"
    return col.header


@router.get("/import/{upload_id}/columns")
def columns_page(request: Request, who: Who, cfg: Cfg, upload_id: str, header_row: int | None = None,
                 no_header: bool | None = None) -> Response:
    up = _uploads(request).get(upload_id, _session(request))
    if header_row is not None or no_header is not None:  # "read again" with another header
        row, none = (None, True) if no_header else (header_row, False)
        try:
            import_choices(cfg, [], [], row, none)
            table = read_head(up.path, limits=cfg.read_limits, header_row=row, no_header=none)
        except PipelineError as e:
            return back(f"/import/{upload_id}/columns", problem=str(e))
        up.header_row, up.no_header, up.maps = row, none, ()
    else:
        table = _read(cfg, up)
    choices, _ = import_choices(cfg, list(up.maps), [], None, False)
    auto = columns_for(cfg, table.headers, up.path.name)
    chosen = columns_for(cfg, table.headers, up.path.name, choices)
    shown = min(len(table.headers), PREVIEW_COLUMNS)
    n = min(PREVIEW_ROWS, len(table.source_rows))
    preview = table.rows(list(range(n)))
    return render(request, "import_columns.html", who, up=up, table=table, columns=list(zip(auto, chosen))[:shown],
                  hidden=len(table.headers) - shown, preview=[r[:shown] for r in preview],
                  rows=table.source_rows[:n], specs=catalog(cfg.fields), special=SPECIAL_TARGETS, stage=2,
                  file_name="pasted rows" if up.path.name == PASTED_NAME else up.path.name)


@router.post("/import/{upload_id}/columns")
async def columns_chosen(request: Request, who: Who, cfg: Cfg, upload_id: str) -> Response:
    """Keep the choices that differ from what the file maps to by itself, as `--map` options are."""
    up = _uploads(request).get(upload_id, _session(request))
    form = await request.form()
    table = _read(cfg, up)
    auto = columns_for(cfg, table.headers, up.path.name)
    folded = [fold(h) for h in table.headers]
    maps = []
    for col in auto[:PREVIEW_COLUMNS]:
        picked = str(form.get(f"col_{col.index}", "")).strip()
        if picked and picked != (col.target or ("ignore" if col.how != "unknown" else "")):
            maps.append(f"{_choice_key(table, col, folded)}={picked}")
    try:
        choices, _ = import_choices(cfg, maps, [], None, False)
        mapped = columns_for(cfg, table.headers, up.path.name, choices)
    except UsageError as e:
        return back(f"/import/{upload_id}/columns", problem=str(e))
    up.maps = tuple(maps)
    up.groups_column = any(c.target == "groups" for c in mapped)
    if up.groups_column:
        return _start(request, cfg, up, groups=[], no_group=False)
    return back(f"/import/{upload_id}/group")


@router.post("/import/{upload_id}/cancel")
def cancel(request: Request, who: Who, upload_id: str) -> Response:
    up = _uploads(request).take(upload_id, _session(request))
    shutil.rmtree(up.folder, ignore_errors=True)
    return back("/import", note="The upload is cancelled; nothing was imported.")


# --------------------------------------------------------------------------- stage 3: the group


@router.get("/import/{upload_id}/group")
def group_page(request: Request, who: Who, cfg: Cfg, con: Con, upload_id: str) -> HTMLResponse:
    up = _uploads(request).get(upload_id, _session(request))
    static = groups_mod.static_groups(con)
    chosen = next((g["name"] for g in static if g["name"].casefold() == up.group.casefold()), "")
    return render(request, "import_group.html", who, up=up, groups=static, chosen=chosen,
                  rules=bool(cfg.groups.assign), stage=3)


@router.post("/import/{upload_id}/start")
def start(request: Request, who: Who, cfg: Cfg, con: Con, upload_id: str, choice: Annotated[str, Form()],
          new_name: Annotated[str, Form()] = "", new_category: Annotated[str, Form()] = "",
          existing: Annotated[str, Form()] = "") -> Response:
    up = _uploads(request).get(upload_id, _session(request))
    where = f"/import/{upload_id}/group"
    if choice == "new":
        if not new_name.strip():
            return back(where, problem="Give the new group a name.")
        try:
            made = groups_mod.create(con, cfg, new_name, new_category or None)
        except PipelineError as e:
            return back(where, problem=str(e))
        return _start(request, cfg, up, groups=[made.name], no_group=False)
    if choice == "existing":
        if not existing.strip():
            return back(where, problem="Choose the group to import into.")
        groups_mod.find_static(con, cfg, existing, doing="imported into")
        return _start(request, cfg, up, groups=[existing], no_group=False)
    if choice == "rules":
        return _start(request, cfg, up, groups=[], no_group=False)
    return _start(request, cfg, up, groups=[], no_group=True)


def _start(request: Request, cfg: Config, up: Upload, *, groups: list[str], no_group: bool) -> Response:
    columns, header = import_choices(cfg, list(up.maps), [], up.header_row, up.no_header)
    up = _uploads(request).take(up.id, up.session)
    job = request.app.state.jobs.start(request.app, up.folder, up.path, groups=groups, no_group=no_group,
                                       columns=columns, header=header)
    return back(f"/import/jobs/{job.id}")


# --------------------------------------------------------------------------- stage 4: progress, then the summary


@router.get("/import/jobs/{job_id}")
def job_page(request: Request, who: Who, con: Con, job_id: str) -> HTMLResponse:
    """While the import runs the page reloads itself each second, showing its stage; then the summary."""
    job = request.app.state.jobs.get(job_id)
    summary = job.summary if job.done.is_set() else None
    run = store.run_of_outbox(con, summary.get("outbox")) if summary else None
    return render(request, "import_summary.html", who, job=job, summary=summary, run=run, stage=4,
                  running=not job.done.is_set(),
                  file_name="pasted rows" if job.file == PASTED_NAME else job.file)
