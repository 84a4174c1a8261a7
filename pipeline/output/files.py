"""Files that appear whole: written aside under a hidden name, flushed to disk, then renamed into place.

Names are made safe for any folder, and a taken name gets a number rather than
being overwritten.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import unicodedata
from pathlib import Path


def open_aside(folder: Path, prefix: str, suffix: str = ".part") -> tuple[int, Path]:
    """A new hidden file in `folder`, open for writing: (fd, path).

    Created as `open()` creates a file, with the mode the umask allows (0666
    less the umask), so operators who share a group can read the outputs
    they must fix; `tempfile.mkstemp` would make every output 0600.
    """
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free name for a new file in {folder}")


def _aside(path: Path) -> Path:
    fd, tmp = open_aside(path.parent, f".{path.name[:40]}.")
    os.close(fd)
    return tmp


def aside(path: Path) -> Path:
    """A new hidden file beside `path` to write into before `put_in_place`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return _aside(path)


def put_in_place(tmp: Path, path: Path) -> None:
    """Flush a file written aside to the disk, then rename it into place: after a crash, whole or absent."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a file aside and rename it into place."""
    tmp = aside(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        put_in_place(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: object) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def safe_name(name: str, limit: int = 100) -> str:
    """A file name that is safe in any folder: no separators, control characters or leading dots."""
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", "_", name).strip(" .")
    if not name:
        name = "file"
    if len(name.encode("utf-8")) > limit:
        stem, dot, ext = name.rpartition(".")
        if not dot or len(ext) > 10:
            stem, ext = name, ""
        keep = stem.encode("utf-8")[: limit - len(ext.encode("utf-8")) - 1].decode("utf-8", "ignore")
        name = keep + ("." + ext if ext else "")
    return name


def unique_path(folder: Path, name: str, also: tuple[str, ...] = ()) -> Path:
    """folder/name, or folder/name-2, -3 ... when taken: nothing is ever overwritten.

    `also` names companions written beside it (`.error.txt` appended to the
    name): the name is taken when any of them is, so a file and its companion
    always share one name that neither had before.
    """
    path = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while any(p.exists() or p.is_symlink() for p in [path] + [path.with_name(path.name + a) for a in also]):
        path = folder / f"{stem}-{n}{suffix}"
        n += 1
    return path
