"""Which files the daemon takes, and when: ignored names, what marks a change, who still writes a file."""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from pathlib import Path

import psutil

try:
    import fcntl
except ImportError:  # not a Unix system: no single-instance lock, no open-for-writing check
    fcntl = None  # type: ignore[assignment]


IGNORED = ("~$*", ".~lock.*#", "*.tmp", "*.part", "*.crdownload", ".*")
#: An empty file may be a file about to be filled: it is taken (and refused as empty) only once it has stayed
#: empty this many settle times, and never sooner than EMPTY_GRACE_MIN seconds.
EMPTY_GRACE_SETTLES = 30
EMPTY_GRACE_MIN = 10.0
#: When the system cannot tell whether a file is still open for writing, it must stay unchanged this many settle
#: times, and never less than UNSURE_MIN seconds: a writer that pauses longer than settle_seconds is not read early.
UNSURE_SETTLES = 15
UNSURE_MIN = 10.0
#: File systems whose changes made by other machines raise no file events here: poll them instead.
NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "9p", "afs", "ncpfs", "glusterfs", "ceph",
                       "davfs", "virtiofs", "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "fuse.gcsfuse",
                       "fuse.davfs2", "fuse.glusterfs", "fuse.cephfs", "fuse.grpcfuse"}


def ignored_name(name: str) -> bool:
    """Whether a file name is a temporary, lock or hidden file that is never taken."""
    folded = name.casefold()
    return any(fnmatch.fnmatchcase(folded, pattern) for pattern in IGNORED)


# --------------------------------------------------------------------------- files


def signature(path: Path) -> tuple | None:
    """What changes when a file is written to, renamed over or replaced; None when it is not a file (or gone)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev, stat.S_ISLNK(st.st_mode))


def same_file(a: tuple | None, b: tuple | None) -> bool:
    """Two signatures of one unchanged file: all but the change time, which taking it aside and back moves."""
    return a is not None and b is not None and a[:2] == b[:2] and a[3:] == b[3:]


def open_for_writing(path: Path) -> bool | None:
    """Whether a process still has the file open for writing; None when this process cannot tell.

    Linux grants a read lease only while no process has the file open for
    writing, so asking for one (and giving it back at once) answers without
    touching the file.  A lease is refused to a process that neither owns the
    file nor has CAP_LEASE (a service user taking files dropped by others):
    then the processes' open files under /proc are looked at instead, and where
    some of them cannot be read the answer is None, which the daemon meets with
    a longer settle time rather than a guess.
    """
    lease = getattr(fcntl, "F_SETLEASE", None) if fcntl is not None else None
    if lease is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.fcntl(fd, lease, fcntl.F_RDLCK)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EBUSY):
            return True
        if e.errno in (errno.EACCES, errno.EPERM):
            return writers_in_proc(os.fstat(fd))
        return None
    else:
        fcntl.fcntl(fd, lease, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


def writers_in_proc(st: os.stat_result) -> bool | None:
    """Whether a process has this file (device and inode) open for writing, from /proc; None if some were hidden."""
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return None
    hidden = False
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except FileNotFoundError:  # ended meanwhile
            continue
        except OSError:
            hidden = True
            continue
        for fd in fds:
            try:
                target = os.stat(f"/proc/{pid}/fd/{fd}")
                if (target.st_dev, target.st_ino) != (st.st_dev, st.st_ino):
                    continue
                flags = _fd_flags(pid, fd)
            except OSError:
                continue
            if flags is None:
                hidden = True
            elif flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                return True
    return None if hidden else False


def _fd_flags(pid: str, fd: str) -> int | None:
    with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("flags:"):
                return int(line.split()[1], 8)
    return None


def network_filesystem(path: Path) -> str | None:
    """The type of the network file system that holds `path`, if it is one (its remote changes raise no events)."""
    try:
        parts = psutil.disk_partitions(all=True)
    except Exception:
        return None
    target = str(path.resolve())
    best = None
    for p in parts:
        mount = p.mountpoint.rstrip("/") or "/"
        if (target == mount or target.startswith(mount.rstrip("/") + "/")) and (
                best is None or len(mount) > len(best.mountpoint)):
            best = p
    fstype = (best.fstype or "").lower() if best else ""
    return fstype if fstype in NETWORK_FILESYSTEMS else None
