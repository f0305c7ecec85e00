"""Unpack a bundle's ``.zip`` safely, in memory: the archive is untrusted input.

Refused, each with one line naming the entry: absolute paths and ``..`` (path traversal), symbolic links,
archives inside the archive, encrypted entries, more than :data:`MAX_ENTRIES` entries, more than
:data:`MAX_TOTAL_BYTES` once unpacked (zip bombs; counted while reading, not trusted from the header), and two
entries with the same file name (the bundle is flat: ``forms/x.schema.json`` and ``x.schema.json`` are one name).
Folder entries, ``__MACOSX/`` and hidden files (``.DS_Store``) are skipped; any other file is kept and judged by
the deploy like an uploaded file.
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import PurePosixPath

from engine.definitions.messages import plain_problem
from engine.errors import DefinitionError, Problem

Files = list[tuple[str, bytes]]

MAX_ENTRIES = 200
MAX_TOTAL_BYTES = 50 * 1024 * 1024
ARCHIVE_SUFFIXES = (".zip", ".jar", ".war", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ")


def is_zip_name(name: str) -> bool:
    """Tell whether a file name is a zip bundle."""
    return name.lower().endswith(".zip")


def _skipped(info: zipfile.ZipInfo, parts: tuple[str, ...]) -> bool:
    return info.is_dir() or parts[0] == "__MACOSX" or any(p.startswith(".") and p not in (".", "..") for p in parts)


def _unsafe(name: str) -> bool:
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    return posix.startswith("/") or (len(posix) > 1 and posix[1] == ":") or ".." in parts or not parts


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):  # made on Unix: the mode says what the entry is
        return "zip_symlink"
    if info.flag_bits & 0x1:
        return "zip_encrypted"
    if info.filename.lower().endswith(ARCHIVE_SUFFIXES):
        return "zip_nested"
    return None


def read_zip(archive: str, content: bytes, max_bytes: int, *, max_entries: int = MAX_ENTRIES,
             max_total: int = MAX_TOTAL_BYTES) -> Files:
    """Return the files of a zip bundle as (file name, bytes), flat; raise DefinitionError naming every problem."""
    try:
        zipped = zipfile.ZipFile(io.BytesIO(content))
        infos = zipped.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise DefinitionError([plain_problem(archive, None, "zip_not_zip", detail=str(exc) or type(exc).__name__)]) from exc
    if len(infos) > max_entries:
        raise DefinitionError([plain_problem(archive, None, "zip_too_many", count=len(infos), limit=max_entries)])
    problems: list[Problem] = []
    kept: list[tuple[zipfile.ZipInfo, str]] = []
    seen: dict[str, str] = {}
    for info in infos:
        if _unsafe(info.filename):
            problems.append(plain_problem(archive, None, "zip_unsafe_path", entry=info.filename))
            continue
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if _skipped(info, parts):
            continue
        code = _entry_problem(info)
        if code is not None:
            problems.append(plain_problem(archive, None, code, entry=info.filename))
            continue
        name = parts[-1]
        if name.lower() in seen:
            problems.append(plain_problem(archive, None, "zip_duplicate", entry=info.filename, other=seen[name.lower()]))
            continue
        seen[name.lower()] = info.filename
        kept.append((info, name))
    if sum(info.file_size for info, _ in kept) > max_total:
        problems.append(plain_problem(archive, None, "zip_too_big", limit=f"{max_total:,}"))
    if problems:
        raise DefinitionError(problems)
    return _unpack(zipped, archive, kept, max_bytes, max_total)


def _unpack(zipped: zipfile.ZipFile, archive: str, kept: list[tuple[zipfile.ZipInfo, str]], max_bytes: int,
            max_total: int) -> Files:
    files: Files = []
    total = 0
    for info, name in kept:
        try:
            with zipped.open(info) as stream:
                data = stream.read(max_bytes + 1)  # the header's size may lie: never read more than allowed
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise DefinitionError([plain_problem(archive, None, "zip_not_zip",
                                                 detail=f"{info.filename}: {exc}")]) from exc
        total += len(data)
        if total > max_total:
            raise DefinitionError([plain_problem(archive, None, "zip_too_big", limit=f"{max_total:,}")])
        if len(data) > max_bytes:
            raise DefinitionError([plain_problem(name, None, "file_too_big", size=f"more than {max_bytes:,}",
                                                 limit=f"{max_bytes:,}")])
        if data.startswith(ARCHIVE_MAGIC):
            raise DefinitionError([plain_problem(archive, None, "zip_nested", entry=info.filename)])
        files.append((name, data))
    if not files:
        raise DefinitionError([plain_problem(archive, None, "zip_empty")])
    return files


def expand_zips(files: Files, max_bytes: int) -> Files:
    """Replace each ``.zip`` among uploaded files by its entries (unpacked safely); a name given twice is refused."""
    expanded: Files = []
    origin: dict[str, str] = {}
    problems: list[Problem] = []
    for name, content in files:
        entries = read_zip(name, content, max_bytes) if is_zip_name(name) else [(name, content)]
        for entry, data in entries:
            where = f"{name}!{entry}" if is_zip_name(name) else name
            if entry.lower() in origin:
                problems.append(plain_problem(entry, None, "duplicate_file", other=origin[entry.lower()]))
                continue
            origin[entry.lower()] = where
            expanded.append((entry, data))
    if problems:
        raise DefinitionError(problems)
    return expanded
