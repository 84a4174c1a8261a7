"""Files in and out of the console and the API: uploads, imports run from them, downloads.

An uploaded file is written to a private folder of its own (never into the
inbox, whose daemon would take it as well) under a safe name, stopping at the
configured size limit, and then imported exactly as `contacts import` imports a
file: the same reader, guards, outbox folder and reject workbook.  Imports in
one process take turns (`process.ONE_IMPORT`), so an upload and the
daemon's file never write at once.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from fastapi import UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from .. import store
from ..config import Config
from ..errors import ConfigError, FileRejected, InvalidValue, NotFound, PipelineError
from ..manage import fields as fields_mod
from ..manage.contacts import export_headers, export_row, field_list, list_contacts
from ..manage.optouts import read_pasted_values
from ..outbox import RunSummary, recover
from ..output import safe_name, write_table
from ..output.template import write_template
from ..process import ONE_IMPORT, lower_this_thread, process_file
from ..read import too_big

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 1 << 20


@contextmanager
def uploaded(cfg: Config, upload: UploadFile) -> Iterator[Path]:
    """The uploaded file on disk, under its own safe name in a private folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="contacts-upload-"))
    try:
        yield save_upload(cfg, upload, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def save_upload(cfg: Config, upload: UploadFile, folder: Path) -> Path:
    """The uploaded file written into FOLDER under its own safe name, refused past the size limit."""
    path = folder / safe_name(Path(upload.filename or "upload").name or "upload")
    save(upload.file, path, cfg.read_limits.max_bytes)
    return path


def save(stream, path: Path, limit: int) -> int:
    """Copy an upload's stream to PATH, refusing it past LIMIT bytes (nothing of it kept) with the sentence the
    inbox says of a file too big: the rest is only counted, to say the file's size."""
    size = 0
    with open(path, "wb") as out:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size <= limit:
                out.write(chunk)
    if size > limit:
        path.unlink(missing_ok=True)
        raise too_big(size, limit)
    if not size:
        raise FileRejected("The file is empty: nothing was uploaded.")
    return size


def run_import(app, path: Path, *, groups: Sequence[str] = (), no_group: bool = False, columns=None, header=None,
               dry_run: bool = False, force: bool = False, reporter=None) -> RunSummary:
    """Import one uploaded file as `contacts import` does, on the server's open store."""
    cfg: Config = app.state.cfg

    def work() -> RunSummary:
        with ONE_IMPORT, app.state.keeper.cursor() as con:
            if not dry_run:  # what an import killed after its commit left half done, finished first (as `import` does)
                recover(cfg, con)
            return process_file(path, cfg, groups=list(groups), no_group=no_group, columns=columns, header=header,
                                dry_run=dry_run, force=force, con=con, reporter=reporter)

    return lowered(work)


def lowered(work):
    """Run `work` on a thread of its own, scheduled below the requests' threads (`lower_this_thread`); its
    result, or its error.  The thread is new and ends with the work."""
    done: dict = {}

    def run() -> None:
        lower_this_thread()
        try:
            done["value"] = work()
        except BaseException as e:  # noqa: BLE001 - raised again by the caller's thread
            done["error"] = e

    thread = threading.Thread(target=run, name="import")
    thread.start()
    thread.join()
    if "error" in done:
        raise done["error"]
    return done["value"]


def optout_values(cfg: Config, text: str) -> list[str]:
    """A pasted list's values, read as `contacts optout import -` reads stdin."""
    return read_pasted_values(text.encode("utf-8"), region=cfg.pipeline.default_region, limits=cfg.read_limits)


def add_field(app, name: str, type: str, label: str | None, choices: Sequence[str], aliases: Sequence[str]) -> dict:
    """Add a custom field to config/fields.yaml and start using it; answers the field as `fields list` shows it."""
    with app.state.config_lock:
        try:
            cfg = fields_mod.add_field(app.state.cfg, name, type, label=label, choices=choices, aliases=aliases)
        except ConfigError as e:  # the loader refused the field asked for (the file is as it was): the request's fault
            raise InvalidValue(str(e)) from None
        app.state.cfg = cfg
        app.state.keeper.cfg = cfg
    with app.state.keeper.cursor() as con:
        store.ensure_schema(con, cfg)
        found = field_list(con, cfg)
    return next(f for f in found if f["name"] == name.strip())


# --------------------------------------------------------------------------- downloads


def template_download(cfg: Config) -> FileResponse:
    """`contacts template` as a download: every field's header and a sample row."""
    tmp = Path(tempfile.mkdtemp(prefix="contacts-template-"))
    out = tmp / "contacts-template.xlsx"
    write_template(out, cfg)
    return file_download(out, cleanup=tmp)


def file_download(path: Path, *, cleanup: Path | None = None, name: str | None = None) -> FileResponse:
    task = BackgroundTask(shutil.rmtree, cleanup, ignore_errors=True) if cleanup else None
    media = XLSX if path.suffix.lower() == ".xlsx" else "text/csv" if path.suffix.lower() == ".csv" else None
    return FileResponse(path, filename=name or path.name, media_type=media, background=task)


def table_download(name: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> FileResponse:
    """An export written as a file (cells safe from formulas, as every export) and sent, then removed."""
    folder = Path(tempfile.mkdtemp(prefix="contacts-export-"))
    path = folder / name
    write_table(path, headers, rows)
    return file_download(path, cleanup=folder)


def contacts_download(con, cfg: Config, name: str, **query) -> FileResponse:
    """Every contact a search finds (`list_contacts`'s QUERY, no paging), as `contacts list --export NAME` writes them."""
    found = list_contacts(con, cfg, **query)
    return table_download(name, export_headers(cfg), (export_row(cfg, r) for r in found.records))


def rejects_download(cfg: Config, con, run_id: int) -> FileResponse:
    run = store.get_run(con, run_id)
    if run is None:
        raise NotFound(f"No run has the id {run_id}; `contacts runs` lists them.")
    name = run.get("rejects_file")
    if not name:
        raise NotFound(f"Import {run_id} rejected no row: it has no reject workbook.")
    path = cfg.outbox / str(run["outbox"]) / name
    if not path.is_file():
        raise NotFound(f"The reject workbook of import {run_id} is no longer in the outbox ({path.name}).")
    return file_download(path)


# --------------------------------------------------------------------------- imports in the background


@dataclass
class Job:
    """An import the console started: its stage while it runs, then its summary or the sentence it failed with."""

    id: str
    file: str
    stage: str = "waiting for its turn"
    summary: dict | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class _Stages:
    """The `process.Reporter` of a job: each stage the import reaches is the job's stage."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def stage(self, file: str, name: str) -> None:
        self.job.stage = name


class Jobs:
    """The console's imports in the background, by id; the newest `KEEP` are remembered."""

    KEEP = 100

    def __init__(self) -> None:
        self._by_id: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, app, folder: Path, path: Path, **options) -> Job:
        """Import PATH (in its own FOLDER, removed afterwards) in a thread; returns the job to follow."""
        job = Job(secrets.token_urlsafe(12), path.name)
        with self._lock:
            self._by_id[job.id] = job
            for old in list(self._by_id)[:-self.KEEP]:
                del self._by_id[old]

        def work() -> None:
            try:
                summary = run_import(app, path, reporter=_Stages(job), **options)
                job.summary = summary.asdict()
            except PipelineError as e:
                job.error = str(e)
            except Exception as e:
                failed = store.failure(e, app.state.cfg)
                job.error = str(failed) if failed else f"Unexpected error: {e}"
            finally:
                shutil.rmtree(folder, ignore_errors=True)
                job.stage = "done"
                job.done.set()

        threading.Thread(target=work, name=f"import-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            found = self._by_id.get(job_id)
        if found is None:
            raise NotFound("No such import in progress; the runs page lists every import.")
        return found
