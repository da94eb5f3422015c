"""Weights read as memory maps, and where a weight array lives in its file.

``map_file(path)`` maps a weights file read-only and returns it as a uint8 array;
arrays parsed from it are views, so nothing is read until touched. ``region(array)``
tells a writer which file and offset an array's bytes come from, so it can copy them
file-to-file in the kernel (``os.copy_file_range``) without ever paging them into
the process: converting a 100 MB checkpoint then costs little more memory than the
libraries themselves.
"""
from __future__ import annotations

import mmap
import weakref
from pathlib import Path

import numpy as np

_MAPS: dict[int, tuple[weakref.ref, str, mmap.mmap]] = {}  # id(root array) -> (weak root, file path, the map)


def map_file(path: str | Path) -> np.ndarray:
    """The whole file as a read-only uint8 array backed by a memory map (empty files: an empty array)."""
    with open(path, "rb") as f:
        try:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            return np.zeros(0, np.uint8)
    root = np.frombuffer(mm, np.uint8)
    _MAPS[id(root)] = (weakref.ref(root, lambda _, key=id(root): _MAPS.pop(key, None)), str(path), mm)
    return root


def region(array: np.ndarray) -> tuple[str, int] | None:
    """(file, byte offset) when ``array`` is a contiguous view into a mapped file, else None."""
    if not array.flags.c_contiguous:
        return None
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    entry = _MAPS.get(id(root))
    if entry is None or entry[0]() is not root:
        return None
    offset = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if not 0 <= offset <= root.nbytes - array.nbytes:
        return None
    return entry[1], offset


def release_all() -> None:
    """Hand the pages of every mapped weights file back to the kernel (they are clean: reading
    them again faults them in from the page cache), so data already used stops counting
    towards this process's memory."""
    for ref, _, mm in list(_MAPS.values()):
        if ref() is not None and not mm.closed and len(mm):
            mm.madvise(mmap.MADV_DONTNEED)
