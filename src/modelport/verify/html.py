"""The HTML verification report: one self-contained file (inline CSS, SVG and a few lines of script).

Per input shape: a summary, a plot of cosine similarity and max relative error along the
graph (tensors in the reference's execution order), the graph drawn with each tensor
coloured by its cosine (>= 0.99 fine, 0.95-0.99 suspicious, < 0.95 bad: the thresholds
NNIE users work with, ``tools/levels.py``), the diagnosis at the first divergence, and the
per-tensor table. Nothing is fetched from the network.

The graph is the reference model's: ``graph_of(runner)`` reads an onnxruntime runner's
ONNX graph or an MXNet runner's symbol; other runners fall back to a chain in execution
order (said so on the page). It is laid out by topological depth: one row per depth,
nodes in a row ordered by the mean position of their inputs (one barycentre pass).

The inline script only links the graph and the table (click a node: its row), scrolls each
graph to its first divergent node, and marks
the page rendered: ``<body data-rendered="ok">`` once both kinds of SVG are in the
document, ``data-rendered="error: ..."`` if a script error occurs; a headless browser's
``--dump-dom`` shows which.
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from modelport.text import plural
from modelport.tools.levels import BAD, COLOURS, FINE, SUSPICIOUS, level

Node = tuple[str, str, list[str]]  # (tensor name, op, input tensor names)


# --------------------------------------------------------------------------- the graph


def graph_of(runner) -> list[Node] | None:
    """(tensor, op, inputs) of every computed tensor of a runner's model, or None if unknown."""
    model = getattr(runner, "model", None)
    graph = getattr(model, "graph", None)
    if graph is not None and hasattr(graph, "node"):
        inits = {i.name for i in graph.initializer}
        nodes = [(i.name, "input", []) for i in graph.input if i.name not in inits]
        for node in graph.node:
            ins = [i for i in node.input if i and i not in inits]
            nodes += [(o, node.op_type, ins) for o in node.output if o]
        return nodes
    symbol = getattr(runner, "symbol", None)
    if symbol is not None and hasattr(symbol, "tojson"):
        raw = json.loads(symbol.tojson())["nodes"]
        known = set(runner.order())
        weights = set(getattr(runner, "args", {})) | set(getattr(runner, "aux", {}))

        def name_of(entry):
            src, index = entry[0], entry[1]
            node = raw[src]
            if node["op"] == "null":
                return None if node["name"] in weights or node["name"].endswith("_label") else node["name"]
            return node["name"] if node["name"] in known else f"{node['name']}_output{index}"

        nodes = []
        for node in raw:
            if node["op"] == "null":
                if node["name"] not in weights and not node["name"].endswith("_label"):
                    nodes.append((node["name"], "input", []))
                continue
            ins = [n for n in (name_of(e) for e in node["inputs"]) if n]
            outs = [node["name"]] if node["name"] in known else sorted(
                n for n in known if n.startswith(node["name"] + "_output"))
            nodes += [(o, node["op"], ins) for o in outs or [node["name"]]]
        return nodes
    return None


@dataclass
class Layout:
    pos: dict[str, tuple[float, float]] = field(default_factory=dict)  # centre of each node
    width: float = 0
    height: float = 0


NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 170, 30, 18, 22, 20


def layout(nodes: list[Node]) -> Layout:
    """Rows by topological depth (longest path from an input), barycentre order inside a row."""
    names = {n for n, _, _ in nodes}
    depth: dict[str, int] = {}
    for name, _, ins in nodes:  # nodes come in topological order
        depth[name] = 1 + max((depth[i] for i in ins if i in depth), default=-1)
    rows: dict[int, list[str]] = {}
    for name, _, _ in nodes:
        rows.setdefault(depth[name], []).append(name)
    inputs = {n: [i for i in ins if i in names] for n, _, ins in nodes}
    out = Layout()
    widest = max((len(r) for r in rows.values()), default=1)
    out.width = MARGIN * 2 + widest * NODE_W + (widest - 1) * GAP_X + 110  # room for the skip arcs
    x_of: dict[str, float] = {}
    for d in sorted(rows):
        row = rows[d]
        row.sort(key=lambda n: sum(x_of[i] for i in inputs[n] if i in x_of) / max(1, sum(i in x_of for i in inputs[n]))
                 if any(i in x_of for i in inputs[n]) else 0.0)
        span = len(row) * NODE_W + (len(row) - 1) * GAP_X
        left = (out.width - span) / 2
        y = MARGIN + d * (NODE_H + GAP_Y) + NODE_H / 2
        for k, name in enumerate(row):
            x = left + k * (NODE_W + GAP_X) + NODE_W / 2
            x_of[name] = x
            out.pos[name] = (x, y)
    out.height = MARGIN * 2 + len(rows) * (NODE_H + GAP_Y)
    return out


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def graph_svg(nodes: list[Node], comparison, run_id: str) -> str:
    """The graph as SVG, each tensor coloured by its cosine (grey: folded, missing or not compared)."""
    rows = {r.name: r for r in comparison.rows}
    folded = dict(comparison.folded)
    missing = set(comparison.missing)
    first = comparison.first_divergence.name if comparison.first_divergence is not None else None
    lay = layout(nodes)
    parts = [f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{lay.width:.0f}" height="{lay.height:.0f}" '
             f'viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" role="img" aria-label="model graph">']
    parts.append('<g class="edges" fill="none" stroke="#b0b4ba" stroke-width="1.2">')
    for name, _, ins in nodes:
        x2, y2 = lay.pos[name]
        for i in ins:
            if i not in lay.pos:
                continue
            x1, y1 = lay.pos[i]
            levels = round((y2 - y1) / (NODE_H + GAP_Y))
            if levels > 1 and abs(x2 - x1) < NODE_W:  # a skip connection: an arc beside the column
                side = x1 + NODE_W / 2
                reach = side + 24 + 6 * min(levels, 12)
                parts.append(f'<path class="skip" d="M{side:.1f},{y1:.1f} C{reach:.1f},{y1:.1f} {reach:.1f},{y2:.1f} '
                             f'{x2 + NODE_W / 2:.1f},{y2:.1f}"/>')
                continue
            y1 += NODE_H / 2
            top = y2 - NODE_H / 2
            bend = max(GAP_Y, (top - y1) / 2)
            parts.append(f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{top - bend:.1f} '
                         f'{x2:.1f},{top:.1f}"/>')
    parts.append("</g>")
    for name, op, _ in nodes:
        x, y = lay.pos[name]
        row = rows.get(name)
        if row is not None:
            lvl = level(row.cosine)
            info = f"cosine {row.cosine:.7f}, max abs {row.max_abs:.3g}" if row.cosine == row.cosine else row.note
        elif name in folded:
            lvl, info = None, f"folded into {folded[name]} (not compared)"
        elif op == "input":
            lvl, info = None, "input"
        else:
            lvl, info = None, "missing in the converted model" if name in missing else "not compared"
        fill = COLOURS[lvl] if op != "input" else "#5b7db1"
        stroke = ' stroke="#111" stroke-width="3"' if name == first else ' stroke="#fff" stroke-width="1"'
        index = comparison.rows.index(row) if row is not None else -1
        title = html.escape(f"{name} ({op}): {info}")
        klass = "node first" if name == first else "node"
        parts.append(f'<g class="{klass}" data-row="{run_id}-{index}" data-level="{lvl or "none"}">'
                     f'<title>{title}</title>'
                     f'<rect x="{x - NODE_W / 2:.1f}" y="{y - NODE_H / 2:.1f}" width="{NODE_W}" height="{NODE_H}" '
                     f'rx="5" fill="{fill}"{stroke}/>'
                     f'<text x="{x:.1f}" y="{y - 2:.1f}" text-anchor="middle" class="nname">{html.escape(_short(name, 26))}</text>'
                     f'<text x="{x:.1f}" y="{y + 10:.1f}" text-anchor="middle" class="nop">{html.escape(_short(op, 28))}</text>'
                     "</g>")
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- the plot


PLOT_W, PANEL_H, PAD_L, PAD_R, PAD_T, PAD_B = 1100, 210, 70, 20, 24, 30


def plot_svg(comparison) -> str:
    """Cosine similarity (linear, threshold bands) and max relative error (log10) per tensor, in order."""
    rows = [r for r in comparison.rows]
    n = max(len(rows), 1)
    cosines = [r.cosine for r in rows if r.cosine == r.cosine]
    low = min([0.94] + cosines)
    low = max(-1.0, math.floor(low * 100) / 100)
    rels = [r.max_rel for r in rows if r.max_rel == r.max_rel and r.max_rel > 0 and math.isfinite(r.max_rel)]
    rlo = math.floor(math.log10(min(rels))) if rels else -8
    rhi = math.ceil(math.log10(max(rels))) if rels else 0
    rhi = max(rhi, rlo + 1)
    inner_w = PLOT_W - PAD_L - PAD_R
    height = 2 * (PANEL_H + PAD_T + PAD_B)

    def x_at(i):
        return PAD_L + (i + 0.5) * inner_w / n

    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{PLOT_W}" height="{height}" '
             f'viewBox="0 0 {PLOT_W} {height}" role="img" aria-label="cosine and relative error along the graph">']
    # panel 1: cosine
    top = PAD_T

    def y_cos(c):
        return top + (1.0 - c) / (1.0 - low) * PANEL_H

    for lo_, hi_, lvl in ((0.99, 1.0, FINE), (0.95, 0.99, SUSPICIOUS), (low, 0.95, BAD)):
        lo_c, hi_c = max(lo_, low), min(hi_, 1.0)
        if hi_c > lo_c:
            parts.append(f'<rect x="{PAD_L}" y="{y_cos(hi_c):.1f}" width="{inner_w}" height="{y_cos(lo_c) - y_cos(hi_c):.1f}" '
                         f'fill="{COLOURS[lvl]}" opacity="0.10"/>')
    for tick in sorted({1.0, 0.99, 0.95, low}):
        if low <= tick <= 1.0:
            y = y_cos(tick)
            parts.append(f'<line x1="{PAD_L}" x2="{PLOT_W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc"/>'
                         f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick:g}</text>')
    parts.append(f'<text x="{PAD_L}" y="{top - 8}" class="axis">cosine similarity per tensor (execution order)</text>')
    pts = [(x_at(i), y_cos(r.cosine)) for i, r in enumerate(rows) if r.cosine == r.cosine]
    if pts:
        parts.append('<polyline fill="none" stroke="#444" stroke-width="1" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
    for i, r in enumerate(rows):
        if r.cosine == r.cosine:
            parts.append(f'<circle cx="{x_at(i):.1f}" cy="{y_cos(r.cosine):.1f}" r="3" fill="{COLOURS[level(r.cosine)]}">'
                         f'<title>{html.escape(f"#{i} {r.name}: cosine {r.cosine:.7f}")}</title></circle>')
    # panel 2: relative error, log scale
    top2 = PAD_T * 2 + PANEL_H + PAD_B

    def y_rel(v):
        return top2 + (rhi - math.log10(v)) / (rhi - rlo) * PANEL_H

    for e in range(rlo, rhi + 1):
        y = y_rel(10.0 ** e)
        parts.append(f'<line x1="{PAD_L}" x2="{PLOT_W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">1e{e}</text>')
    parts.append(f'<text x="{PAD_L}" y="{top2 - 8}" class="axis">max relative error per tensor (log scale)</text>')
    rpts = [(x_at(i), y_rel(r.max_rel)) for i, r in enumerate(rows)
            if r.max_rel == r.max_rel and r.max_rel > 0 and math.isfinite(r.max_rel)]
    if rpts:
        parts.append('<polyline fill="none" stroke="#3867d6" stroke-width="1.2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in rpts) + '"/>')
    first = comparison.first_divergence
    if first is not None:
        x = x_at(rows.index(first))
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{height - PAD_B}" stroke="#d23a2f" '
                     f'stroke-dasharray="4 3"/><text x="{x + 4:.1f}" y="{PAD_T + 12}" class="first">first divergence: '
                     f'{html.escape(_short(first.name, 40))}</text>')
    parts.append(f'<text x="{PLOT_W / 2:.0f}" y="{height - 6}" text-anchor="middle" class="axis">tensor # (0..{n - 1})</text>')
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- the page


def shape_summary(report) -> list[dict]:
    """One entry per input shape: tensors compared, counts by level, worst output cosine, first divergence."""
    out = []
    for run in report.runs:
        shapes = ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in run.shapes.items())
        cmp = run.comparison
        if cmp is None:
            out.append(dict(shapes=shapes, verdict="skipped", detail=run.skipped))
            continue
        counts = {FINE: 0, SUSPICIOUS: 0, BAD: 0}
        for r in cmp.rows:
            if level(r.cosine):
                counts[level(r.cosine)] += 1
        worst = min((r.cosine for r in cmp.outputs if r.cosine == r.cosine), default=float("nan"))
        first = cmp.first_divergence
        out.append(dict(shapes=shapes, verdict="MATCH" if cmp.ok else "DIVERGES", tensors=len(cmp.rows),
                        counts=counts, worst_output=worst, first=first.name if first is not None else "",
                        detail=cmp.diagnosis if first is not None else ""))
    return out


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 8px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;background:#fff} td,th{border:1px solid #e2e2e2;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums} th{background:#f0f0f0}
.ok{color:#2e9d4a;font-weight:600} .bad{color:#d23a2f;font-weight:600}
.lvl{display:inline-block;min-width:76px;padding:0 6px;border-radius:3px;color:#fff;text-align:center}
.diag{background:#fff4f2;border-left:4px solid #d23a2f;padding:8px 12px;margin:10px 0}
.legend span{display:inline-block;margin-right:14px} .legend i{display:inline-block;width:12px;height:12px;
border-radius:2px;margin-right:4px;vertical-align:-1px}
.scroll{overflow:auto;max-height:900px;border:1px solid #ddd;background:#fff}
svg text.nname{font:600 10px monospace;fill:#fff} svg text.nop{font:9px sans-serif;fill:#f4f4f4}
svg text.tick{font:10px sans-serif;fill:#555} svg text.axis{font:12px sans-serif;fill:#333}
svg text.first{font:11px sans-serif;fill:#d23a2f} path.skip{stroke:#8a9bb8} g.node{cursor:pointer}
tr.hit{outline:3px solid #3867d6} .muted{color:#777}
"""

SCRIPT = """
(function(){
  window.addEventListener('error', function(e){ document.body.dataset.rendered = 'error: ' + e.message; });
  document.querySelectorAll('g.node').forEach(function(g){
    g.addEventListener('click', function(){
      var row = document.getElementById('row-' + g.dataset.row);
      if (!row) return;
      document.querySelectorAll('tr.hit').forEach(function(r){ r.classList.remove('hit'); });
      row.classList.add('hit'); row.scrollIntoView({block: 'center'});
    });
  });
  document.querySelectorAll('g.node.first').forEach(function(g){  // show the first divergence in its graph
    var box = g.closest('.scroll'), rect = g.querySelector('rect');
    if (box && rect) box.scrollTop = Math.max(0, rect.y.baseVal.value - box.clientHeight / 3);
  });
  var plots = document.querySelectorAll('svg.plot').length, graphs = document.querySelectorAll('svg.graph').length;
  var marks = document.querySelectorAll('svg.plot circle').length, nodes = document.querySelectorAll('g.node').length;
  if (!document.body.dataset.rendered) {
    document.body.dataset.rendered = (plots && graphs && marks && nodes) ? 'ok' :
      'incomplete: ' + plots + ' plots, ' + graphs + ' graphs, ' + marks + ' points, ' + nodes + ' nodes';
  }
})();
"""


def _num(x: float, spec: str) -> str:
    return "-" if x != x else format(x, spec)


def _lvl(cos: float) -> str:
    lvl = level(cos)
    return f'<span class="lvl" style="background:{COLOURS[lvl]}">{lvl or "-"}</span>'


def render(report, graph: list[Node] | None = None, title: str | None = None) -> str:
    """The whole page as a string."""
    e = html.escape
    title = title or f"modelport verify: {Path(report.source).name}"
    ok = report.ok
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{e(title)}</h1>",
           f"<p>source <code>{e(report.source)}</code> ({e(report.reference)}) vs converted "
           f"<code>{e(report.converted)}</code> ({e(report.candidate)}); inputs uniform in "
           f"[{report.input_range[0]:g}, {report.input_range[1]:g}]</p>",
           f"<p>verdict: <span class=\"{'ok' if ok else 'bad'}\">{'MATCH' if ok else 'DIVERGES'}</span></p>"]
    for note in report.notes:
        out.append(f"<p class=\"muted\">note: {e(note)}</p>")
    out.append('<p class="legend">'
               + "".join(f'<span><i style="background:{COLOURS[lv]}"></i>{lv or "grey"} ({text})</span>'
                         for lv, text in ((FINE, "cosine &ge; 0.99"), (SUSPICIOUS, "0.95 &ndash; 0.99"),
                                          (BAD, "&lt; 0.95"), (None, "folded, missing or not compared")))
               + "</p>")
    out.append("<h2>Summary</h2><table><tr><th>input shapes</th><th>verdict</th><th>tensors</th><th>fine</th>"
               "<th>suspicious</th><th>bad</th><th>worst output cosine</th><th>first divergence</th></tr>")
    for s in shape_summary(report):
        if s["verdict"] == "skipped":
            out.append(f"<tr><td>{e(s['shapes'])}</td><td>skipped</td><td colspan=\"6\">{e(s['detail'])}</td></tr>")
            continue
        c = s["counts"]
        out.append(f"<tr><td>{e(s['shapes'])}</td><td class=\"{'ok' if s['verdict'] == 'MATCH' else 'bad'}\">"
                   f"{s['verdict']}</td><td class=\"num\">{s['tensors']}</td><td class=\"num\">{c[FINE]}</td>"
                   f"<td class=\"num\">{c[SUSPICIOUS]}</td><td class=\"num\">{c[BAD]}</td>"
                   f"<td class=\"num\">{_num(s['worst_output'], '.7f')}</td><td>{e(s['first']) or '-'}</td></tr>")
    out.append("</table>")
    for k, run in enumerate(report.runs):
        shapes = ", ".join(f"{n}={'x'.join(map(str, v))}" for n, v in run.shapes.items())
        out.append(f"<h2>At {e(shapes)}</h2>")
        cmp = run.comparison
        if cmp is None:
            out.append(f"<p>skipped: {e(run.skipped)}</p>")
            continue
        first = cmp.first_divergence
        if first is not None:
            out.append(f'<div class="diag"><b>first divergence: {e(first.name)}</b> (cosine {_num(first.cosine, ".6f")}, '
                       f"max abs {_num(first.max_abs, '.3g')}, level {level(first.cosine) or '-'})<br>"
                       f"likely cause: {e(cmp.diagnosis or 'not diagnosed')}"
                       + (f" <span class=\"muted\">[{e(cmp.cause)}]</span>" if getattr(cmp, "cause", "") else "")
                       + "".join(f"<br><span class=\"muted\">&middot; {e(x)}</span>"
                                 for x in getattr(cmp, "evidence", []) or [])
                       + "</div>")
        else:
            out.append(f"<p class=\"ok\">every compared tensor matches ({plural(len(cmp.rows), 'tensor')})</p>")
        if cmp.folded:
            out.append(f"<p class=\"muted\">{plural(len(cmp.folded), 'tensor')} folded away by the passes (not compared): "
                       + e(", ".join(f"{a} -> {b}" for a, b in cmp.folded[:12])) + (" ..." if len(cmp.folded) > 12 else "")
                       + "</p>")
        if cmp.missing:
            out.append(f"<p class=\"muted\">{plural(len(cmp.missing), 'reference tensor')} without counterpart: "
                       + e(", ".join(cmp.missing[:12])) + (" ..." if len(cmp.missing) > 12 else "") + "</p>")
        out.append("<h3>Cosine similarity and relative error along the graph</h3>")
        out.append(plot_svg(cmp))
        run_id = f"r{k}"
        out.append("<h3>Graph, coloured by cosine similarity</h3>")
        nodes = graph
        if not nodes:
            out.append('<p class="muted">the engines expose no graph: drawn as a chain in execution order</p>')
            nodes = [(r.name, "", [cmp.rows[i - 1].name] if i else []) for i, r in enumerate(cmp.rows)]
        out.append(f'<details{" open" if k == 0 else ""}><summary>{plural(len(nodes), "tensor")} (click a node for its row)'
                   f'</summary><div class="scroll">{graph_svg(nodes, cmp, run_id)}</div></details>')
        out.append("<h3>Per-tensor comparison</h3><table><tr><th>#</th><th>tensor</th><th>shape</th><th>cosine</th>"
                   "<th>max abs</th><th>max rel</th><th>level</th><th>status</th></tr>")
        for i, r in enumerate(cmp.rows):
            status = "ok" if r.ok else "DIVERGES"
            if r is first:
                status += " &larr; first"
            if r.note:
                status += f" ({e(r.note)})"
            name = f"<b>{e(r.name)}</b>" if r.is_output else e(r.name)
            out.append(f'<tr id="row-{run_id}-{i}"><td class="num">{i}</td><td>{name}</td>'
                       f"<td>{'x'.join(map(str, r.ref_shape))}</td><td class=\"num\">{_num(r.cosine, '.7f')}</td>"
                       f"<td class=\"num\">{_num(r.max_abs, '.2e')}</td><td class=\"num\">{_num(r.max_rel, '.2e')}</td>"
                       f"<td>{_lvl(r.cosine)}</td><td class=\"{'ok' if r.ok else 'bad'}\">{status}</td></tr>")
        out.append("</table>")
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(out)


def write_html(report, path: str | Path, graph: list[Node] | None = None) -> Path:
    """Write the report to ``path`` (through a temporary file renamed into place)."""
    from modelport.fileio import write_text_atomic

    return write_text_atomic(path, render(report, graph))
