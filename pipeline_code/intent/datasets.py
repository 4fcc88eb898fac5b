"""The two shipped intent data sets as ``text,label`` CSV files (the generic input format of the intent pipeline).

CLINC150 keeps its own validation split and its out-of-scope splits (label ``oos``): train + oos_train, val + oos_val,
test + oos_test. BANKING77 has no validation split: the pipeline holds out a stratified 10 % of train (fixed seed).
The shipped files stay byte-identical to their sources (see each folder's SOURCE.md); this module converts them.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

DATASETS = ("clinc150", "banking77")
OOS_LABEL = "oos"


def _write(rows: list[tuple[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def materialize(name: str, data_root: Path, target: Path) -> dict[str, Path]:
    """Write ``train.csv``, ``test.csv`` (and ``valid.csv`` where the data set has one) into ``target``."""
    if name == "clinc150":
        with gzip.open(data_root / "clinc150" / "data_full.json.gz", "rt", encoding="utf-8") as handle:
            full = json.load(handle)
        parts = {"train": ("train", "oos_train"), "valid": ("val", "oos_val"), "test": ("test", "oos_test")}
        return {
            split: _write([(str(t), str(y)) for key in keys for t, y in full[key]], target / f"{split}.csv")
            for split, keys in parts.items()
        }
    if name == "banking77":
        out: dict[str, Path] = {}
        for split, filename in (("train", "train.csv.gz"), ("test", "test.csv")):
            source = data_root / "banking77" / filename
            opener = gzip.open if filename.endswith(".gz") else open
            with opener(source, "rt", encoding="utf-8", newline="") as handle:
                rows = [(r["text"], r["category"]) for r in csv.DictReader(handle)]
            out[split] = _write(rows, target / f"{split}.csv")
        return out
    raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
