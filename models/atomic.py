"""Write a folder all at once: build it under a temporary name, then rename it into place.

A full disk, a crash or a bad input half-way leaves either the old folder or none, never a
half-written one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_dir(folder: Path) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``folder``; on success it replaces ``folder``."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        yield tmp
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.replace(folder, old / "x")
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_update(folder: Path, replacing: tuple[str, ...]) -> Iterator[Path]:
    """Yield a temporary copy of the existing ``folder`` without the files named in
    ``replacing`` (write their new versions there); on success the copy replaces ``folder``
    as ``atomic_dir`` does. The other files are hard links (copies where the file system has
    none), so a large folder costs little; they must not be written in place."""
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        for path in folder.rglob("*"):
            rel = path.relative_to(folder)
            if rel.parts[0] in replacing:
                continue
            target = tmp / rel
            if path.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
        yield tmp
