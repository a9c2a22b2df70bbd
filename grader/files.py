"""Writing files safely: only regular files are replaced, atomically, with the process umask.

Every file the library writes (``grader batch -o``, rubrics and their ``.bak`` copies) goes
through :func:`atomic_write`: the text goes to a new temporary file in the target's folder,
which then replaces the target in one rename. A target that exists must be a regular file:
devices (``/dev/null``), FIFOs, sockets, directories and symbolic links are refused, so a
write never lands outside the target folder through a link and never turns a device into
a file. New files get the usual permissions (``0o666`` minus the umask, 0644 by default);
a replaced file keeps its own.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from grader.errors import InputError, OutputError

_KINDS = (
    (stat.S_ISDIR, "is a directory, expected a file name"),
    (stat.S_ISLNK, "is a symbolic link; refusing to replace it (write to the file it points to instead)"),
    (stat.S_ISCHR, "is a device, not a regular file"),
    (stat.S_ISBLK, "is a device, not a regular file"),
    (stat.S_ISFIFO, "is a FIFO (named pipe), not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


_IN_PROGRESS: set[Path] = set()
"""Temporary files of writes in progress in this process (removed by the CLI on SIGTERM)."""


def remove_temporary_files() -> None:
    """Delete the temporary files of every write in progress (the process is about to end)."""
    for tmp in list(_IN_PROGRESS):
        try:
            tmp.unlink()
        except OSError:
            pass


def check_target(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None) -> Path:
    """``path`` as a Path if a file may be written there, else an :class:`OutputError`.

    The target must be absent or a regular file (not followed if it is a link); its folder
    must exist or be creatable. With ``root``, the target must lie inside ``root`` once
    ``..`` and links in its folder are resolved.

    >>> check_target("/dev/null")
    Traceback (most recent call last):
    grader.errors.OutputError: /dev/null: is a device, not a regular file
    """
    target = Path(path)
    if root is not None:
        root_path = Path(root).resolve()
        for place in (target.parent.resolve(), target.resolve().parent):  # its folder, and where a link leads
            if place != root_path and root_path not in place.parents:
                raise OutputError(f"refusing to write outside {root_path}", path=str(target))
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise OutputError(f"cannot write file ({exc.strerror or exc})", path=str(target)) from None
    for test, problem in _KINDS:
        if test(info.st_mode):
            raise OutputError(problem, path=str(target))
    return target


def _new_temp(folder: Path, name: str, suffix: str) -> tuple[int, Path]:
    """Create an empty temporary file next to the target; permissions follow the umask."""
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}{suffix}"
        try:
            # 0o666 filtered by the umask, as for any new file (mkstemp would give 0o600)
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


@contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    backup: bool = False,
    newline: str | None = None,
    suffix: str = ".part",
    fsync: bool = True,
) -> Iterator[TextIO]:
    """Open a UTF-8 text stream whose content replaces ``path`` when the block ends without error.

    ``backup`` keeps the previous file as ``<name>.bak`` (itself written atomically, so a
    ``.bak`` link is replaced, never followed). On an error the target is untouched and
    the temporary file removed; OS errors become one-line :class:`OutputError`.

    >>> import tempfile; folder = tempfile.mkdtemp()
    >>> with atomic_write(f"{folder}/out.txt") as fh:
    ...     _ = fh.write("hello")
    >>> Path(f"{folder}/out.txt").read_text()
    'hello'
    """
    target = check_target(path, root=root)
    bak = target.with_name(target.name + ".bak")
    if backup:
        check_target(bak, root=root)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _new_temp(target.parent, target.name, suffix)
    except OSError as exc:
        raise OutputError(f"cannot write file ({exc.strerror or exc})", path=str(target)) from None
    _IN_PROGRESS.add(tmp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline, buffering=1 << 20) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
            _keep_mode(target, fh.fileno())
        if backup and target.exists():
            _copy_atomic(target, bak)
        check_target(target, root=root)  # still a regular file or absent (no swap since the check)
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # disk full, permissions, /proc: one line, old file intact
            raise OutputError(f"cannot write file ({exc.strerror or exc})", path=str(target)) from None
        raise
    finally:
        _IN_PROGRESS.discard(tmp)


def _keep_mode(target: Path, fd: int) -> None:
    """A replaced file keeps its permission bits."""
    try:
        mode = stat.S_IMODE(os.lstat(target).st_mode)
    except FileNotFoundError:
        return
    os.fchmod(fd, mode)


def _copy_atomic(source: Path, dest: Path) -> None:
    fd, tmp = _new_temp(dest.parent, dest.name, ".tmp")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while block := src.read(1 << 20):
                out.write(block)
            os.fchmod(out.fileno(), stat.S_IMODE(os.stat(source).st_mode))
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_stream(
    source: BinaryIO, folder: str | os.PathLike[str], *, suffix: str = "", max_bytes: int, name: str = "upload"
) -> tuple[Path, str]:
    """Copy a binary stream to a new file in ``folder`` 1 MB at a time; return (path, sha256 hex).

    The file is named by its digest, so the same upload is stored once. More than
    ``max_bytes`` raises :class:`InputError` naming ``name`` and nothing is left behind.
    Memory stays at one block whatever the size.

    >>> import io, tempfile
    >>> path, digest = save_stream(io.BytesIO(b"a,b\\n"), tempfile.mkdtemp(), suffix=".csv", max_bytes=10)
    >>> path.read_bytes(), digest[:8]
    (b'a,b\\n', '5be08c96')
    """
    target_folder = Path(folder)
    target_folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = os.lstat(target_folder)
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise OutputError("not a folder of this user (refusing to store uploads there)", path=str(target_folder))
    fd, tmp = _new_temp(target_folder, "upload", ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while block := source.read(1 << 20):
                size += len(block)
                if size > max_bytes:
                    raise InputError(f"{name}: the file is larger than {max_bytes // (1024 * 1024)} MB.")
                digest.update(block)
                out.write(block)
        final = target_folder / f"{digest.hexdigest()}{suffix}"
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final, digest.hexdigest()


def prune_old_files(folder: str | os.PathLike[str], *, max_age_seconds: float, now: float | None = None) -> int:
    """Delete the regular files of ``folder`` not modified for ``max_age_seconds``; return how many.

    Keeps a folder of uploads from growing without end (links and sub-folders are left alone).
    """
    moment = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and moment - entry.stat(follow_symlinks=False).st_mtime > max_age_seconds:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed
