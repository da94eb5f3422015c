"""Printing weight listings and diffs (``modelport weights``): one greppable line per weight or pair."""
from __future__ import annotations

import numpy as np

from modelport.tools.weights import PITFALL_POINTER, DiffRow, WeightSet, stats


def _num(x: float) -> str:
    return "-" if x != x else f"{x:.4g}"


def print_stats(ws: WeightSet, console, first: int = 5) -> None:
    """One line per weight (name, layer, shape, dtype, min/max/mean/std, first values, flags): greppable, and
    two listings side by side diff line by line."""
    from rich.markup import escape

    from modelport.text import plural

    rows = stats(ws, first)
    console.print(f"{ws.path} ({ws.format})", soft_wrap=True, highlight=False)
    width = max((len(r.name) for r in rows), default=0)
    swidth = max((len("x".join(map(str, r.shape))) for r in rows), default=0)
    for r in rows:
        shape = "x".join(map(str, r.shape)) or "scalar"
        line = (f"{escape(r.name):<{width}}  {shape:<{swidth}}  {r.dtype:<7}  min {_num(r.min):>9}  max {_num(r.max):>9}"
                f"  mean {_num(r.mean):>9}  std {_num(r.std):>9}  first [{' '.join(f'{v:.4g}' for v in r.first)}]")
        if r.layer:
            line += f"  ({escape(r.layer)})"
        if r.flags:
            line += "  [yellow]! " + escape("; ".join(r.flags)) + "[/]"
        console.print(line, soft_wrap=True, highlight=False)
    total = sum(int(np.prod(r.shape, dtype=np.int64)) for r in rows)
    console.print(f"{plural(len(rows), 'weight')}, {plural(total, 'value')}", highlight=False)
    if any("PITFALL" in flag for r in rows for flag in r.flags):
        console.print(PITFALL_POINTER)


def print_diff(rows: list[DiffRow], left: WeightSet, right: WeightSet, console) -> int:
    """One line per pair (status, left -> right, layer, shape, cosine, max abs), its notes below; a summary.
    Returns 0 when every weight matches, else 1."""
    from rich.markup import escape

    from modelport.text import plural

    colour = {"same": "green", "folded": "green", "transposed": "yellow", "differs": "red", "missing": "red",
              "extra": "yellow", "added": "dim", "not compared": "dim"}
    console.print(f"{left.path} ({left.format}) vs {right.path} ({right.format})", soft_wrap=True, highlight=False)
    for r in rows:
        shape = "x".join(map(str, r.left_shape or r.right_shape or ()))
        if r.left_shape and r.right_shape and r.left_shape != r.right_shape:
            shape = f"{'x'.join(map(str, r.left_shape))} vs {'x'.join(map(str, r.right_shape))}"
        line = (f"[{colour.get(r.status, 'white')}]{r.status:<10}[/] {escape(r.left or '-')} -> {escape(r.right or '-')}"
                f"  ({escape(r.layer) or '-'})  {shape}")
        if r.cosine == r.cosine:
            line += f"  cosine {r.cosine:.6f}  max abs {_num(r.max_abs)}"
        console.print(line, soft_wrap=True, highlight=False)
        for note in r.notes:
            console.print(f"    - {escape(note)}", soft_wrap=True, highlight=False)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    console.print(f"{plural(len(rows), 'weight')}: " + ", ".join(f"{n} {status}" for status, n in counts.items()),
                  highlight=False)
    shown = set()
    for r in rows:
        for note in r.notes:
            if note.startswith(("gamma:", "eps:")) and (r.layer, note) not in shown:
                shown.add((r.layer, note))
                console.print(f"[bold red]{escape(r.layer)}[/]: {escape(note)}", soft_wrap=True, highlight=False)
    if any("PITFALL" in note for r in rows for note in r.notes):
        console.print(PITFALL_POINTER)
    return 0 if all(r.ok for r in rows) else 1
