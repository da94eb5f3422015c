"""Terminal rendering (rich) of verification and inspection results, and progress bars."""
from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from modelport.text import plural
from modelport.verify.compare import Comparison


@contextmanager
def node_progress(label: str, console: Console | None = None):
    """Yield a ``tick()`` callable that advances a spinner bar (total unknown); silent off a terminal."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield lambda: None
        return
    with Progress(SpinnerColumn(), TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda: bar.advance(task)


def _fmt(x: float, spec: str) -> str:
    return "-" if x != x else format(x, spec)


def comparison_table(cmp: Comparison, title: str, max_rows: int | None = None) -> Table:
    table = Table(title=title, show_lines=False, header_style="bold")
    for col, justify in (("#", "right"), ("tensor", "left"), ("shape", "left"), ("cosine", "right"),
                         ("max abs", "right"), ("max rel", "right"), ("", "left")):
        # names are never cut: a long one wraps (folds) inside its cell
        table.add_column(col, justify=justify, overflow="fold", no_wrap=col not in ("tensor", "shape", ""))
    rows = cmp.rows if max_rows is None else cmp.rows[:max_rows]
    for i, row in enumerate(rows):
        status = "[green]ok[/]" if row.ok else "[bold red]DIVERGES[/]"
        if row is cmp.first_divergence:
            status += " [red]<- first[/]"
        if row.note:
            status += f" ({row.note})"
        name = f"[bold]{row.name}[/]" if row.is_output else row.name
        table.add_row(str(i), name, "x".join(map(str, row.ref_shape)), _fmt(row.cosine, ".7f"),
                      _fmt(row.max_abs, ".2e"), _fmt(row.max_rel, ".2e"), status)
    if max_rows is not None and len(cmp.rows) > max_rows:
        table.add_row("", f"... {len(cmp.rows) - max_rows} more", "", "", "", "", "")
    return table


def print_verify(report, console: Console, max_rows: int | None = None) -> None:
    for note in report.notes:
        console.print(f"note: {note}")
    for run in report.runs:
        shapes = ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in run.shapes.items())
        if run.comparison is None:
            console.print(f"[yellow]skipped[/] {shapes}: {run.skipped}")
            continue
        cmp = run.comparison
        console.print(f"{report.source} ({report.reference}) vs {report.converted} ({report.candidate}) at {shapes}",
                      soft_wrap=True, highlight=False)
        console.print(comparison_table(cmp, f"at {shapes}", max_rows))
        outs = cmp.outputs
        worst = min((r.cosine for r in outs), default=float("nan"))
        if cmp.missing:
            console.print(f"[yellow]{plural(len(cmp.missing), 'reference tensor')} {'has' if len(cmp.missing) == 1 else 'have'} no counterpart in the converted "
                          f"model[/] (not compared): {', '.join(cmp.missing[:8])}{' ...' if len(cmp.missing) > 8 else ''}")
        if cmp.folded:
            shown = ", ".join(f"{a} -> {b}" for a, b in cmp.folded[:6])
            console.print(f"{plural(len(cmp.folded), 'tensor')} folded away by the passes (not compared; their values live "
                          f"on in the survivor): {shown}{' ...' if len(cmp.folded) > 6 else ''}")
        if cmp.first_divergence is None:
            console.print(f"[green]MATCH[/] at {shapes}: {plural(len(cmp.rows), 'tensor')} compared, "
                          f"{plural(len(outs), 'output')}, worst output cosine {worst:.7f}", soft_wrap=True)
        else:
            row = cmp.first_divergence
            console.print(f"[bold red]DIVERGES[/] at {shapes}: first at tensor '{row.name}' "
                          f"(cosine {_fmt(row.cosine, '.6f')}, max abs {_fmt(row.max_abs, '.3g')})")
            console.print(f"  likely cause: {cmp.diagnosis}", soft_wrap=True)
            if "PITFALL" in cmp.diagnosis:
                console.print("  (PITFALL N: item N of docs/pitfalls.md)")
