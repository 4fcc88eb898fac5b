"""``report.html``: one self-contained page per run (inline CSS, SVG and PNG; no script, no network).

The DAG layer knows no model. It draws what every run has: the pipeline graph with each binding (from the plan), the
steps with status, time and metrics, and the lineage (sha256 of inputs, code and outputs, from the manifest). A model
adds its own sections (data, quality gate, plots, explanations) through ``PipelineDefinition.report_sections``, the
dotted path of ``fn(run_dir: Path) -> list[ReportSection]``, written with the helpers below.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_code.dag.assembler import PipelinePlan
from pipeline_code.dag.manifest import RunManifest, StepStatus
from pipeline_code.dag.resolver import ExternalInputRef

REPORT_NAME = "report.html"
NONE = "-"
_FILES_PER_OUTPUT = 6


@dataclass(frozen=True)
class ReportSection:
    """One section of the page: a title and HTML built with the helpers of this module (inputs escaped there)."""

    title: str
    body: str

    @property
    def anchor(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


# -- HTML helpers (everything that reaches the page goes through ``esc``) ----------------------------------------------


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return NONE
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(fmt(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def key_values(values: Mapping[str, Any]) -> str:
    return table(("", "value"), ((k, v) for k, v in values.items()))


def verdict(passed: bool | None, text: str) -> str:
    css = {True: "pass", False: "fail", None: "unknown"}[passed]
    label = {True: "PASSED", False: "FAILED", None: "NOT EVALUATED"}[passed]
    return f'<p class="verdict {css}"><strong>{label}</strong> {esc(text)}</p>'


def paragraph(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def image(path: Path, alt: str) -> str:
    """A PNG inlined as a data URI, or a visible note where the file is missing (the page never links out)."""
    if not path.is_file():
        return f'<p class="missing">{esc(alt)}: {esc(path.name)} was not produced by this run.</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}"><figcaption>{esc(alt)}</figcaption></figure>'
    )


def figures(items: Iterable[tuple[Path, str]]) -> str:
    return '<div class="figures">' + "".join(image(path, alt) for path, alt in items) + "</div>"


# -- generic sections -------------------------------------------------------------------------------------------------

_STATUS_FILL = {
    StepStatus.SUCCEEDED: "#d9f2dd",
    StepStatus.CACHED: "#d7ecf7",
    StepStatus.FAILED: "#f8d4d4",
    StepStatus.SKIPPED: "#eeeeee",
}


def pipeline_graph_svg(plan: PipelinePlan, statuses: Mapping[str, StepStatus]) -> str:
    """The plan as a left-to-right layered graph: external inputs, steps coloured by status, bindings as edges."""
    column: dict[str, int] = {f"input:{name}": 0 for name in plan.external_inputs}
    for step in plan.steps:  # plan order is topological, so every upstream step has its column already
        column[step.step_type] = 1 + max((column[up] for up in step.upstream), default=0)
    rows: dict[int, list[str]] = {}
    for node in column:
        rows.setdefault(column[node], []).append(node)
    box_w, box_h, col_w, row_h, pad = 170, 44, 270, 86, 24
    position = {
        node: (pad + column[node] * col_w, pad + 18 + index * row_h)
        for nodes in rows.values()
        for index, node in enumerate(nodes)
    }
    width = pad * 2 + (max(rows) + 1) * col_w - (col_w - box_w)
    height = pad * 2 + 18 + max(len(nodes) for nodes in rows.values()) * row_h
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="pipeline graph of {esc(plan.name)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for step in plan.steps:
        for index, (name, binding) in enumerate(step.inputs.items()):
            source = f"input:{binding.name}" if isinstance(binding, ExternalInputRef) else binding.step_type
            (x1, y1), (x2, y2) = position[source], position[step.step_type]
            # Several inputs of one step arrive at different heights, so their labels never overlap.
            sx, sy = x1 + box_w, y1 + box_h / 2
            ex, ey = x2, y2 + box_h * (index + 1) / (len(step.inputs) + 1)
            mid = (sx + ex) / 2
            parts.append(
                f'<path d="M {sx} {sy} C {mid} {sy}, {mid} {ey}, {ex} {ey}" fill="none" stroke="#777" '
                'stroke-width="1.4" marker-end="url(#arrow)"/>'
            )
            output = binding.name if isinstance(binding, ExternalInputRef) else binding.output
            label = name if output == name else f"{output} → {name}"
            parts.append(f'<text x="{ex - 6}" y="{ey - 5}" text-anchor="end" class="edge">{esc(label)}</text>')
    for node, (x, y) in position.items():
        external = node.startswith("input:")
        fill = "#fff7d6" if external else _STATUS_FILL.get(statuses.get(node, StepStatus.PENDING), "#ffffff")
        label = node.removeprefix("input:")
        status = "external input" if external else statuses.get(node, StepStatus.PENDING).value
        parts.append(
            f'<g class="node"><rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="8" fill="{fill}" '
            f'stroke="#444"/><text x="{x + box_w / 2}" y="{y + 19}" text-anchor="middle" class="name">'
            f'{esc(label)}</text><text x="{x + box_w / 2}" y="{y + 35}" text-anchor="middle" class="status">'
            f"{esc(status)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _steps_section(manifest: RunManifest) -> ReportSection:
    rows = [
        (
            r.step,
            r.status.value,
            f"{r.duration_s:.2f} s" if r.duration_s is not None else "",
            ", ".join(f"{k}={fmt(v)}" for k, v in list(r.metrics.items())[:8]) or r.reason,
        )
        for r in manifest.steps
    ]
    body = table(("step", "status", "time", "metrics / reason"), rows)
    if manifest.error:
        body = f'<p class="verdict fail">{esc(manifest.error)}</p>' + body
    return ReportSection("Steps", body)


def _short(digest: str | None) -> str:
    return f"{digest[:16]}…" if digest else NONE


def _lineage_section(manifest: RunManifest) -> ReportSection:
    inputs = [
        (name, record.get("source", ""), f["path"], f["size"], f["sha256"])
        for name, record in manifest.external_inputs.items()
        for f in record.get("files", [])
    ]
    parts = [table(("input", "source", "file", "bytes", "sha256"), inputs, caption="External inputs")]
    code = [(r.step, r.entry_point, r.code_sha256 or NONE, _short(r.cache_key)) for r in manifest.steps]
    parts.append(table(("step", "entry point", "code sha256", "cache key"), code, caption="Code"))
    outputs: list[tuple[Any, ...]] = []
    for r in manifest.steps:
        for name, files in r.outputs.items():
            for record in files[:_FILES_PER_OUTPUT]:
                outputs.append((r.step, name, record.path, record.size, record.sha256))
            if len(files) > _FILES_PER_OUTPUT:
                outputs.append((r.step, name, f"… {len(files) - _FILES_PER_OUTPUT} more (manifest.json)", "", ""))
    parts.append(table(("step", "output", "file", "bytes", "sha256"), outputs, caption="Outputs"))
    return ReportSection("Lineage", "".join(parts))


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3b57;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85}nav{padding:8px 32px;background:#e9eef3;font-size:14px}nav a{margin-right:14px}
main{padding:8px 32px 40px;max-width:1280px}section{background:#fff;border:1px solid #ddd;border-radius:8px;
padding:4px 20px 16px;margin:18px 0}h2{font-size:18px;border-bottom:1px solid #eee;padding-bottom:6px}
table{border-collapse:collapse;margin:10px 0;font-size:13px}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;max-width:520px;
overflow-wrap:anywhere}th{background:#f2f4f7}.figures{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0}figure img{max-width:400px;border:1px solid #ddd}figcaption{font-size:12px;color:#555}
.verdict{padding:8px 12px;border-radius:6px}.pass{background:#d9f2dd}.fail{background:#f8d4d4}
.unknown{background:#eee}.missing{color:#a33}svg.graph{max-width:100%;height:auto}
svg text.name{font-size:13px;font-weight:600}svg text.status{font-size:11px;fill:#555}
svg text.edge{font-size:10px;fill:#666}
"""


def render_report(plan: PipelinePlan, manifest: RunManifest, sections: Sequence[ReportSection]) -> str:
    statuses = {r.step: r.status for r in manifest.steps}
    all_sections = [
        ReportSection("Pipeline graph", pipeline_graph_svg(plan, statuses)),
        _steps_section(manifest),
        *sections,
        _lineage_section(manifest),
    ]
    nav = "".join(f'<a href="#{s.anchor}">{esc(s.title)}</a>' for s in all_sections)
    body = "".join(f'<section id="{s.anchor}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in all_sections)
    duration = f"{manifest.duration_s:.1f} s" if manifest.duration_s is not None else NONE
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(plan.name)} run: {esc(manifest.status.value)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>Pipeline {esc(plan.name)}: {esc(manifest.status.value)}</h1>"
        f"<p>{esc(manifest.run_dir)} · started {esc(manifest.started_at)} · {esc(duration)}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


def write_report(
    plan: PipelinePlan,
    manifest: RunManifest,
    run_dir: Path,
    sections: Callable[[Path], Sequence[ReportSection]] | None = None,
) -> Path:
    """Write ``<run_dir>/report.html``. A model section that cannot be built shows why instead of sinking the page."""
    model_sections: list[ReportSection] = []
    if sections is not None:
        try:
            model_sections = list(sections(run_dir))
        except Exception as exc:  # a failed run lacks artefacts: the page still shows the graph, steps and lineage
            model_sections = [ReportSection("Model", f'<p class="missing">{esc(type(exc).__name__)}: {esc(exc)}</p>')]
    path = run_dir / REPORT_NAME
    path.write_text(render_report(plan, manifest, model_sections), encoding="utf-8")
    return path
