"""Intent validate step: ``text,label`` CSVs in, contract-conforming train / valid / test tables and rejects out.

Input ``raw_data``: a folder with ``train.csv`` and ``test.csv`` and optionally ``valid.csv`` (each may be ``.csv.gz``),
or with sub-folders ``train/``, ``test/``, ``valid/`` holding one such file each under any name: how the SageMaker
pipeline delivers its ``TrainCsvUri`` / ``TestCsvUri`` / ``ValidCsvUri`` parameters. A validation file identical to
the train file (same bytes) counts as no validation file: a SageMaker input cannot be left out, so that is how a run
there asks for the held-out split.
Outputs: ``validated/`` (``train.csv``, ``valid.csv``, ``test.csv``, ``labels.json``) and ``validation_report/``
(``rejects.csv``: file, line, text, label, reason; ``validation_report.json``: counts per file that reconcile).
Without ``valid.csv`` a stratified ``valid_fraction`` of train (fixed seed) is held out as validation.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.io import sha256_of, write_json
from pipeline_code.common.params import read_params
from pipeline_code.intent.contract import (
    CONTRACT_NAME,
    CONTRACT_VERSION,
    OOS_LABEL,
    ContractError,
    ContractResult,
    check_rows,
    read_rows,
    write_table,
)
from pipeline_code.intent.validate.params import DEFAULTS
from pipeline_code.intent.validate.split import stratified_holdout

SPLITS = ("train", "valid", "test")
LABELS_FILE = "labels.json"


def find_split(folder: Path, split: str, *, required: bool, what: str) -> Path | None:
    """``<split>.csv`` or ``<split>.csv.gz`` in ``folder``, or the one ``*.csv`` / ``*.csv.gz`` in ``folder/<split>/``;
    StepError when required and absent, or when more than one candidate is present."""
    found = [folder / f"{split}{suffix}" for suffix in (".csv", ".csv.gz") if (folder / f"{split}{suffix}").is_file()]
    sub = folder / split
    if sub.is_dir():
        inside = sorted(p for p in sub.iterdir() if p.is_file() and p.name.endswith((".csv", ".csv.gz")))
        others = sorted(p.name for p in sub.iterdir() if p not in inside)
        if not inside and others:
            raise StepError(f"{what}: {sub} holds no .csv or .csv.gz file (found: {', '.join(others)})")
        found += inside
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(folder)) for p in found)
        raise StepError(f"{what}: {len(found)} {split} files in {folder} ({names}); keep one")
    if not found and required:
        raise StepError(f"{what}: no {split}.csv (or {split}.csv.gz) in {folder}")
    return found[0] if found else None


def cap_per_label(result: ContractResult, cap: int) -> None:
    """Keep the first ``cap`` accepted rows of each label (quick mode); the others are not rejects, just unused."""
    seen: dict[str, int] = {}
    keep = []
    for i, label in enumerate(result.labels):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] <= cap:
            keep.append(i)
    result.skipped = len(result.texts) - len(keep)
    result.texts = [result.texts[i] for i in keep]
    result.labels = [result.labels[i] for i in keep]


def write_rejects(results: dict[str, ContractResult], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["file", "line", "text", "label", "reject_reason"])
        for name, result in results.items():
            writer.writerows((name, r.line, r.text, r.label, r.reason) for r in result.rejects)


def run(ctx: StepContext) -> dict[str, Any]:
    settings = read_params(ctx, DEFAULTS)
    if not 0.0 < settings["valid_fraction"] < 1.0:
        raise StepError(f"{ctx.step_name}: parameter 'valid_fraction'={settings['valid_fraction']} is not in (0, 1)")
    folder = ctx.input_dir("raw_data")
    what = f"{ctx.step_name}: input 'raw_data'"
    if not folder.is_dir():
        raise StepError(f"{what}: {folder} is not a folder")
    sources = {split: find_split(folder, split, required=split != "valid", what=what) for split in SPLITS}
    valid_is_train = sources["valid"] is not None and sha256_of(sources["valid"]) == sha256_of(sources["train"])  # type: ignore[arg-type]
    if valid_is_train:
        sources["valid"] = None

    results: dict[str, ContractResult] = {}
    known: set[str] | None = None
    for split in ("train", "valid", "test"):
        source = sources[split]
        if source is None:
            continue
        try:
            header, rows = read_rows(source)
        except ContractError as exc:
            raise StepError(f"{what}: {exc}") from exc
        results[split] = check_rows(
            header, rows, source=source.name, max_chars=settings["max_chars"], known_labels=known
        )
        if settings["max_rows_per_label"] > 0:
            cap_per_label(results[split], settings["max_rows_per_label"])
        if split == "train":
            known = {label for label in results["train"].labels if label != OOS_LABEL}

    report: dict[str, Any] = {
        "contract": {"name": CONTRACT_NAME, "version": CONTRACT_VERSION},
        "files": {
            split: {
                "file": result.source,
                "sha256": sha256_of(sources[split]),  # type: ignore[arg-type]
                "rows_in": result.rows_in,
                "rows_accepted": len(result.texts),
                "rows_rejected": len(result.rejects),
                "rows_skipped_by_max_rows_per_label": result.skipped,
                "reject_reasons": result.reasons(),
            }
            for split, result in results.items()
        },
    }
    report_dir = ctx.output_dir("validation_report")
    write_rejects(results, report_dir / "rejects.csv")

    train = results["train"]
    intents = sorted(known or ())
    problems = [
        f"{split}: {len(r.rejects)} of {r.rows_in} rows rejected"
        for split, r in results.items()
        if r.rows_in and len(r.rejects) / r.rows_in > settings["max_reject_fraction"]
    ]
    if len(intents) < 2:
        problems.append(f"train has {len(intents)} in-scope label(s) after validation; at least 2 are needed")
    if not results["test"].texts:
        problems.append("test has no valid rows")

    train_texts, train_labels = train.texts, train.labels
    if "valid" in results:
        valid_texts, valid_labels = results["valid"].texts, results["valid"].labels
        valid_source = "valid file"
    else:
        held = set(stratified_holdout(train_labels, settings["valid_fraction"], settings["seed"]).tolist())
        valid_texts = [t for i, t in enumerate(train_texts) if i in held]
        valid_labels = [y for i, y in enumerate(train_labels) if i in held]
        train_texts = [t for i, t in enumerate(train_texts) if i not in held]
        train_labels = [y for i, y in enumerate(train_labels) if i not in held]
        valid_source = f"stratified {settings['valid_fraction']:.0%} of train, seed {settings['seed']}"
        if valid_is_train:
            valid_source += " (the validation file given is the train file)"
    if not valid_texts:
        problems.append("validation has no rows")
    report["validation_source"] = valid_source
    report["rows"] = {"train": len(train_texts), "valid": len(valid_texts), "test": len(results["test"].texts)}
    report["oos_rows"] = {
        "train": train_labels.count(OOS_LABEL),
        "valid": valid_labels.count(OOS_LABEL),
        "test": results["test"].labels.count(OOS_LABEL),
    }
    report["labels"] = len(intents)
    report["problems"] = problems
    write_json(report, report_dir / "validation_report.json")
    if problems:
        raise StepError(f"{ctx.step_name}: {'; '.join(problems)} (see validation_report.json and rejects.csv)")

    out = ctx.output_dir("validated")
    write_table(train_texts, train_labels, out / "train.csv")
    write_table(valid_texts, valid_labels, out / "valid.csv")
    write_table(results["test"].texts, results["test"].labels, out / "test.csv")
    write_json({"intents": intents, "oos_label": OOS_LABEL}, out / LABELS_FILE)
    return {
        "rows_in": sum(r.rows_in for r in results.values()),
        "rows_rejected": sum(len(r.rejects) for r in results.values()),
        "train_rows": len(train_texts),
        "valid_rows": len(valid_texts),
        "test_rows": len(results["test"].texts),
        "intents": len(intents),
    }


if __name__ == "__main__":
    run_in_container(PROCESSING, "IntentValidate", run)
