"""Safe file output: paths kept inside the output folder, portable unique names,
atomic writes (temp file + rename) and no overwrite without ``force``."""

from __future__ import annotations

import contextlib
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from feedconv.errors import OutputError

# Names Windows refuses whatever the extension.
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(10)] + [f"lpt{i}" for i in range(10)]
)
MAX_SLUG_BYTES = 80


def slugify(text: str | None, fallback: str = "post") -> str:
    """A file-name-safe slug: lower-case letters/digits of any script joined by ``-``.

    Safe on Linux, macOS and Windows: no separators, control or reserved characters,
    no leading/trailing dot or dash, no reserved device names, at most 80 UTF-8 bytes.
    """
    normalized = unicodedata.normalize("NFKC", text or "")
    out: list[str] = []
    for char in normalized.casefold():
        if char.isalnum():
            # Drop combining marks that NFKD would split off (keeps "café" → "café").
            out.append(char)
        elif out and out[-1] != "-":
            out.append("-")
    slug = "".join(out).strip("-")
    encoded = slug.encode("utf-8")[:MAX_SLUG_BYTES]
    slug = encoded.decode("utf-8", "ignore").strip("-")
    if not slug or slug.split(".")[0] in _RESERVED:
        slug = f"{fallback}-{slug}" if slug else fallback
    return slug


def unique_names(names: Iterable[str]) -> list[str]:
    """Make names unique (case-insensitively, as on macOS and Windows) by adding -2, -3…"""
    return list(iter_unique_names(names))


def iter_unique_names(names: Iterable[str]) -> Iterator[str]:
    """:func:`unique_names`, one name at a time."""
    seen: set[str] = set()
    for name in names:
        stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
        candidate = name
        n = 2
        while candidate.casefold() in seen:
            candidate = f"{stem}-{n}{dot}{ext}"
            n += 1
        seen.add(candidate.casefold())
        yield candidate


def safe_join(root: Path, relative: str) -> Path:
    """Join ``relative`` under ``root``, refusing anything that would land outside it."""
    if any(ord(ch) < 32 or ch in "\\\x7f" for ch in relative):
        raise OutputError(f"refusing to write {relative!r}: control character or backslash")
    rel = Path(relative)
    if rel.is_absolute() or any(part in ("..", "") for part in rel.parts) or not rel.parts:
        raise OutputError(f"refusing to write {relative!r}: outside the output folder")
    target = (root / rel).resolve(strict=False)
    base = root.resolve(strict=False)
    if target != base and base not in target.parents:
        raise OutputError(f"refusing to write {relative!r}: outside the output folder")
    return root / rel


def check_writable(path: Path, *, force: bool) -> None:
    """Refuse to replace an existing file (or write through a symlink) unless forced."""
    if path.is_symlink() and not force:
        raise OutputError(f"{path}: is a symbolic link; use --force to replace it")
    if path.exists() and not force:
        raise OutputError(f"{path}: already exists; use --force to overwrite")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory")


def atomic_write(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename,
    so readers never see a partial file and a failed write leaves nothing behind."""
    atomic_write_chunks(path, (data,), force=force)


def atomic_write_chunks(path: Path, chunks: Iterable[bytes], *, force: bool = False) -> None:
    """:func:`atomic_write` of data produced piece by piece (a streamed conversion): the
    pieces go to the temp file as they come, so none is held in memory."""
    with atomic_file(path, force=force) as handle:
        for chunk in chunks:
            handle.write(chunk)


@contextlib.contextmanager
def atomic_file(path: Path, *, force: bool = False) -> Iterator[BinaryIO]:
    """A seekable file to write ``path`` through: a temp file in the same folder, renamed
    over ``path`` when the block ends without an error and removed when it fails."""
    check_writable(path, force=force)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        if path.is_symlink():
            path.unlink()
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
