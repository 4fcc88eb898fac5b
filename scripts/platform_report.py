"""Print what `make synth` / `make demo` produced: stages, stacks, resources, cdk-nag suppressions, and a run.

    python -m scripts.platform_report --cdk-out cdk.out [--run runs/demo]

Reads files only (the cloud assembly and a run directory); it never calls AWS.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

PACK_PREFIXES = ("AwsSolutions-", "HIPAA.Security-", "NIST.800.53.R5-")


def rule_family(rule_id: str) -> str:
    for prefix in PACK_PREFIXES:
        if rule_id.startswith(prefix):
            return rule_id.removeprefix(prefix)
    return rule_id


def _stack_rows(
    directory: Path, manifest: dict[str, Any], rows: list[dict[str, Any]], suppressions: dict[tuple[str, str, str], str]
) -> None:
    for stack in manifest["artifacts"].values():
        if stack["type"] != "aws:cloudformation:stack":
            continue
        template = json.loads((directory / stack["properties"]["templateFile"]).read_text())
        resources = {lid: r for lid, r in template.get("Resources", {}).items() if r["Type"] != "AWS::CDK::Metadata"}
        stage, _, name = stack["displayName"].rpartition("/")
        rows.append(
            {
                "stage": stage or "(app)",
                "stack": name,
                "region": stack["environment"].rsplit("/", 1)[-1],
                "resources": len(resources),
                "types": Counter(r["Type"] for r in resources.values()),
            }
        )
        for lid, resource in resources.items():
            for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                suppressions.setdefault((name, lid, rule_family(entry["id"])), entry["reason"])


def assembly_summary(cdk_out: Path) -> tuple[list[dict[str, Any]], dict[tuple[str, str, str], str]]:
    """Per stack: stage, name, region, resource count; and the distinct suppressions (stage copies counted once).

    App-level stacks (the Delivery pipeline and its cross-region support stacks) are listed under ``(app)``; the
    stages the pipeline deploys under ``Delivery/<Stage>``.
    """
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    rows: list[dict[str, Any]] = []
    suppressions: dict[tuple[str, str, str], str] = {}
    _stack_rows(cdk_out, manifest, rows, suppressions)
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "cdk:cloud-assembly":
            continue
        stage_dir = cdk_out / artifact["properties"]["directoryName"]
        _stack_rows(stage_dir, json.loads((stage_dir / "manifest.json").read_text()), rows, suppressions)
    return rows, suppressions


def print_assembly(cdk_out: Path) -> None:
    rows, suppressions = assembly_summary(cdk_out)
    print(f"\n== Synthesized app ({cdk_out}) ==")
    print(f"{'stage':<20} {'stack':<42} {'region':<12} {'resources':>9}")
    per_stage: Counter[str] = Counter()
    for row in sorted(rows, key=lambda r: (r["stage"], r["stack"])):
        per_stage[row["stage"]] += row["resources"]
        print(f"{row['stage']:<20} {row['stack']:<42} {row['region']:<12} {row['resources']:>9}")
    for stage, count in sorted(per_stage.items()):
        print(f"  {stage}: {count} resources")
    print(
        f"\ncdk-nag: 0 unsuppressed findings (synth fails otherwise); {len(suppressions)} suppressions, one rule family"
    )
    print("on one resource each, a stage's copy of a stack counted once:")
    for (stack, lid, family), reason in sorted(suppressions.items()):
        print(f"  - {stack}/{lid}: {family}\n      {reason[:150]}{'...' if len(reason) > 150 else ''}")


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"


def print_run(run_dir: Path) -> None:
    print(f"\n== Adherence pipeline run ({run_dir}) ==")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    print(f"status: {manifest.get('status')}   duration: {manifest.get('duration_s') or 0:.1f} s")
    for step in manifest.get("steps", []):
        print(f"  {step['step']:<20} {step.get('status', '?'):<10} {step.get('duration_s') or 0:>7.1f} s")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test = metrics.get("test", {})
    shown = ("rows", "positives", "roc_auc", "pr_auc", "threshold", "recall", "precision", "f1", "brier", "ece")
    print("\ntest set: " + ", ".join(f"{k}={_fmt(test[k])}" for k in shown if k in test))
    validation = (
        json.loads((run_dir / "validation_report.json").read_text())
        if (run_dir / "validation_report.json").is_file()
        else {}
    )
    if validation:
        counts = {k: v for k, v in validation.items() if isinstance(v, int)}
        print("data contract (validate step): " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    gate = metrics.get("quality_gate")
    if gate:
        print(f"quality gate: {json.dumps(gate)}")
    report = run_dir / "report.html"
    if report.is_file():
        print(f"\nrun report (open in a browser): {report.resolve()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--run", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.cdk_out / "manifest.json").is_file():
        print(f"{args.cdk_out}: no cloud assembly here; run `make synth` first", file=sys.stderr)
        return 2
    print_assembly(args.cdk_out)
    if args.run is not None:
        if not (args.run / "manifest.json").is_file():
            print(f"{args.run}: no run manifest here; run `mlops run adherence --out {args.run}`", file=sys.stderr)
            return 2
        print_run(args.run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
