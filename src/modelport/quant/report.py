"""quantsim's terminal table and HTML page, in the NNIE users' colours (``tools/levels.py``:
cosine >= 0.99 fine, 0.95-0.99 suspicious, < 0.95 bad). The page reuses the verify report's
style, plot and coloured graph (``verify/html.py``)."""
from __future__ import annotations

import html
from pathlib import Path
from types import SimpleNamespace

from modelport.text import plural
from modelport.tools.levels import BAD, COLOURS, FINE, RICH, SUSPICIOUS, level


def _fmt(x: float) -> str:
    return "-" if x != x else f"{x:.6f}"


def print_quantsim(result, console, max_rows: int | None = None) -> None:
    from rich.table import Table

    console.print(f"{result.source}: NNIE 8-bit simulation ({result.target}), calibration: {result.calibration}",
                  soft_wrap=True, highlight=False)
    table = Table(title="per-layer cosine, int8-simulated vs float", header_style="bold")
    for col in ("#", "layer", "op", "int8 cosine", "level", "mixed cosine", "16-bit"):
        table.add_column(col, overflow="fold")
    hp = set(result.hp_layers)
    rows = result.layers if max_rows is None else result.layers[:max_rows]
    for i, r in enumerate(rows):
        lvl = level(r.cosine)
        style = RICH[lvl]
        name = f"[bold]{r.name}[/]" if r.name in result.outputs else r.name
        table.add_row(str(i), name, r.op + (" (weights)" if r.weighted else ""), f"[{style}]{_fmt(r.cosine)}[/]",
                      f"[{style}]{lvl or '-'}[/]", f"[{RICH[level(r.cosine_mixed)]}]{_fmt(r.cosine_mixed)}[/]",
                      "[bold]_hp[/]" if r.name in hp else "")
    console.print(table)
    if max_rows is not None and len(result.layers) > max_rows:
        console.print(f"... {len(result.layers) - max_rows} more layers (--max-rows)")
    counts = {lv: sum(level(r.cosine) == lv for r in result.layers) for lv in (FINE, SUSPICIOUS, BAD)}
    console.print(f"{plural(len(result.layers), 'layer')}: {counts[FINE]} fine, {counts[SUSPICIOUS]} suspicious, "
                  f"{counts[BAD]} bad (cosine >= 0.99, 0.95-0.99, < 0.95)", highlight=False)
    for out in result.outputs:
        a, b = result.output_cosine_int8[out], result.output_cosine_mixed[out]
        console.print(f"output {out}: cosine all 8-bit [{RICH[level(a)]}]{_fmt(a)}[/], "
                      f"mixed [{RICH[level(b)]}]{_fmt(b)}[/]", soft_wrap=True, highlight=False)
    n = len(result.weighted)
    if not result.hp_layers:
        console.print(f"every output reaches cosine >= {result.target_cosine:g} all 8-bit: no layer needs 16 bits "
                      f"({n} weighted layers)", highlight=False)
    else:
        console.print(f"[bold]{len(result.hp_layers)} of {n} weighted layers to keep at 16 bits[/] (every output "
                      f">= {result.target_cosine:g}); mark them for the mapper with the _hp suffix on their layer names "
                      "(modelport convert --to nnie --hp-layers quantsim.json):", highlight=False)
        for name in result.hp_layers:
            console.print(f"  {name} -> {name}_hp", soft_wrap=True, highlight=False, markup=False)
    if result.grouped_hp:
        console.print("[yellow]reminder:[/] grouped convolution in high precision is broken on NNIE (PITFALLS 21): "
                      f"write these as DepthwiseConv (convert with --depthwise): {', '.join(result.grouped_hp)}",
                      soft_wrap=True, highlight=False)
    console.print(f"{result.evaluations} simulated runs, {result.seconds:.1f} s", highlight=False)


def _comparison(result, mixed: bool = False):
    """A duck-typed verify Comparison so the verify report's plot and graph draw quantsim's cosines."""
    rows = []
    for r in result.layers:
        cos = r.cosine_mixed if mixed else r.cosine
        rows.append(SimpleNamespace(name=r.name, cosine=cos, max_abs=r.max_abs, max_rel=r.max_rel, note="",
                                    ok=cos >= result.target_cosine, is_output=r.name in result.outputs,
                                    ref_shape=r.shape))
    first = next((row for row in rows if row.cosine < 0.99), None)
    return SimpleNamespace(rows=rows, folded=[], missing=[], first_divergence=first,
                           outputs=[row for row in rows if row.is_output])


def render_quantsim(result, graph=None) -> str:
    from modelport.verify.html import CSS, SCRIPT, _lvl, graph_svg, plot_svg

    e = html.escape
    title = f"modelport quantsim: {Path(result.source).name}"
    hp = set(result.hp_layers)
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>{e(title)}</title><style>{CSS}</style></head><body>", f"<h1>{e(title)}</h1>",
           f"<p>NNIE 8-bit (low bandwidth, log code) simulated in onnxruntime against the float model; "
           f"calibration: {e(result.calibration)}</p>",
           '<p class="legend">' + "".join(f'<span><i style="background:{COLOURS[lv]}"></i>{lv} ({t})</span>' for lv, t in
                                         ((FINE, "cosine &ge; 0.99"), (SUSPICIOUS, "0.95 &ndash; 0.99"), (BAD, "&lt; 0.95")))
           + "</p>", "<h2>Summary</h2><table><tr><th>output</th><th>cosine all 8-bit</th><th>level</th>"
           "<th>cosine mixed</th><th>level</th></tr>"]
    for o in result.outputs:
        a, b = result.output_cosine_int8[o], result.output_cosine_mixed[o]
        out.append(f"<tr><td><b>{e(o)}</b></td><td class=\"num\">{_fmt(a)}</td><td>{_lvl(a)}</td>"
                   f"<td class=\"num\">{_fmt(b)}</td><td>{_lvl(b)}</td></tr>")
    out.append("</table>")
    out.append(f"<p><b>{len(result.hp_layers)} of {len(result.weighted)} weighted layers at 16 bits</b> bring every "
               f"output to cosine &ge; {result.target_cosine:g}: "
               + (e(", ".join(f"{n}_hp" for n in result.hp_layers)) or "none needed") + "</p>")
    if result.grouped_hp:
        out.append(f'<div class="diag">grouped convolution in high precision is broken on NNIE (PITFALLS 21): write '
                   f"these as DepthwiseConv (--depthwise): {e(', '.join(result.grouped_hp))}</div>")
    for line in result.search:
        out.append(f'<p class="muted">search: {e(line)}</p>')
    for k, (label, mixed) in enumerate((("all 8-bit", False), ("mixed precision", True))):
        cmp = _comparison(result, mixed)
        out.append(f"<h2>{label}: cosine along the graph</h2>{plot_svg(cmp)}")
        nodes = graph or result.graph or [(r.name, r.op, [result.layers[i - 1].name] if i else []) for i, r in enumerate(result.layers)]
        out.append(f'<details{" open" if k == 0 else ""}><summary>graph, coloured by cosine ({label})</summary>'
                   f'<div class="scroll">{graph_svg(nodes, cmp, f"q{k}")}</div></details>')
    out.append("<h2>Per layer</h2><table><tr><th>#</th><th>layer</th><th>op</th><th>int8 cosine</th><th>level</th>"
               "<th>mixed cosine</th><th>level</th><th>16-bit</th></tr>")
    for i, r in enumerate(result.layers):
        name = f"<b>{e(r.name)}</b>" if r.name in result.outputs else e(r.name)
        out.append(f'<tr id="row-q0-{i}"><td class="num">{i}</td><td>{name}</td><td>{e(r.op)}</td>'
                   f"<td class=\"num\">{_fmt(r.cosine)}</td><td>{_lvl(r.cosine)}</td>"
                   f"<td class=\"num\">{_fmt(r.cosine_mixed)}</td><td>{_lvl(r.cosine_mixed)}</td>"
                   f"<td>{'_hp' if r.name in hp else ''}</td></tr>")
    out.append(f"</table><script>{SCRIPT}</script></body></html>")
    return "\n".join(out)


def write_quantsim_html(result, path, graph=None) -> Path:
    from modelport.fileio import write_text_atomic

    return write_text_atomic(path, render_quantsim(result, graph))
