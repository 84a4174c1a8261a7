"""Adding a custom field: written into config/fields.yaml, its comments and layout kept.

The console's "add field" and the API's `POST /fields` both come here.  The new
field is checked as the config loader checks it (the whole config is loaded
again from the written file); a field the loader refuses leaves the file as it
was.  ruamel.yaml's round trip keeps every comment of the operator's file.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..config import MAX_CUSTOM_FIELDS, Config, load_config
from ..errors import ConfigError, UsageError, os_failure
from ..output.files import write_bytes_atomic
from .groups import check_values


def _yaml() -> YAML:
    yaml = YAML()  # round trip: comments, order and quoting kept
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def add_field(cfg: Config, name: str, type: str = "text", *, label: str | None = None,
              choices: Sequence[str] = (), aliases: Sequence[str] = ()) -> Config:
    """Add a custom field to the home's fields.yaml; returns the config loaded again with it.

    Raises `UsageError` for a name taken or a 21st field, and the loader's
    `ConfigError` sentence for anything it refuses (the file is then unchanged).
    """
    name = name.strip()
    if any(f.name == name for f in cfg.fields.custom_fields):
        raise UsageError(f"There is already a custom field {name!r}.")
    if len(cfg.fields.custom_fields) >= MAX_CUSTOM_FIELDS:
        raise UsageError(f"There are {MAX_CUSTOM_FIELDS} custom fields already, the most there can be.")
    path = Path(cfg.home) / "config" / "fields.yaml"
    yaml = _yaml()
    try:
        before = path.read_text(encoding="utf-8") if path.is_file() else ""
    except OSError as e:
        raise os_failure(e, path, "read") from None
    doc = yaml.load(before) if before.strip() else None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise ConfigError(f"{path}: the file is not a mapping of keys; fix it before adding a field.")
    fields = doc.get("custom_fields")
    if not isinstance(fields, CommentedSeq):
        kept = list(fields or [])
        fields = CommentedSeq(kept)
        comment = doc.ca.items.get("custom_fields") if "custom_fields" in doc else None
        doc["custom_fields"] = fields
        if comment:
            doc.ca.items["custom_fields"] = comment
    fields.fa.set_block_style()
    entry = CommentedMap(name=name, type=type)
    if label:
        entry["label"] = label
    if choices:
        entry["choices"] = list(choices)
    if aliases:
        entry["aliases"] = list(aliases)
    fields.append(entry)
    out = io.StringIO()
    yaml.dump(doc, out)
    _write(path, out.getvalue())
    try:
        new = load_config(cfg.home)
        check_values(new)
    except BaseException:
        _write(path, before)
        raise
    return new


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, text.encode("utf-8"))
    except OSError as e:
        raise os_failure(e, path, "written") from None
