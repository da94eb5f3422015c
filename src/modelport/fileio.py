"""Checkpoint discovery and all-or-nothing output writing."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from modelport.errors import ModelFileError

_SYMBOL_RE = re.compile(r"^(?P<prefix>.+)-symbol\.json$")
_PARAMS_RE = re.compile(r"^(?P<prefix>.+)-(?P<epoch>\d+)\.params$")


def model_stem(symbol: Path) -> str:
    """'det1' for 'det1-symbol.json', else the file name without '.json'."""
    m = _SYMBOL_RE.match(symbol.name)
    return m.group("prefix") if m else symbol.name.removesuffix(".json")


def find_params(symbol: str | Path, epoch: int | None = None) -> Path:
    """The params beside ``prefix-symbol.json``: ``prefix-EPOCH.params`` (latest epoch if not given)."""
    symbol = Path(symbol)
    m = _SYMBOL_RE.match(symbol.name)
    if not m:
        raise ModelFileError(f"{symbol}: the name does not follow 'prefix-symbol.json'; give the .params file too")
    prefix = m.group("prefix")
    candidates = {}
    for path in symbol.parent.glob(f"{glob_escape(prefix)}-*.params"):
        pm = _PARAMS_RE.match(path.name)
        if pm and pm.group("prefix") == prefix:
            candidates[int(pm.group("epoch"))] = path
    if epoch is not None:
        if epoch not in candidates:
            raise ModelFileError(f"{symbol.parent / f'{prefix}-{epoch:04d}.params'}: params file not found")
        return candidates[epoch]
    if not candidates:
        raise ModelFileError(f"{symbol.parent / (prefix + '-NNNN.params')}: params file not found "
                             f"(no '{prefix}-EPOCH.params' beside the symbol); give it explicitly")
    return candidates[max(candidates)]


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


@contextmanager
def atomic_outputs(output_dir: str | Path):
    """Yield a staging folder; on success move its files into ``output_dir``, else leave nothing.

    Files are renamed into place only after everything was written, so a failed run
    never leaves half-written outputs (and folders it created are removed again).
    """
    output_dir = Path(output_dir)
    blocking = next((p for p in (output_dir, *output_dir.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        where = "is a file" if blocking == output_dir else f"{blocking} is a file"
        raise ModelFileError(f"{output_dir}: {where}, not a folder; give an output folder with -o")
    missing = [p for p in (output_dir, *output_dir.parents) if not p.exists()]
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".modelport-", dir=output_dir))
    except OSError as exc:
        raise ModelFileError(f"{output_dir}: cannot create the output folder ({exc.strerror})") from None
    try:
        yield staging
        items = sorted(staging.iterdir())
        for item in items:
            if (output_dir / item.name).is_dir():
                raise ModelFileError(f"{output_dir / item.name}: a folder of that name is in the way")
        for item in items:
            os.replace(item, output_dir / item.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if missing:
            shutil.rmtree(missing[-1], ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file renamed into place (an ordinary,
    umask-respecting file: never half-written, never left behind on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
