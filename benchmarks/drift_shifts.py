"""The held-out split of a run as raw rows, and the four synthetic shifts the drift benchmark must detect.

    python -m benchmarks.drift_shifts --run runs/demo --shift medication --rows 2000 --out shifted.csv

Shifts (each applied to every row it names, with a fixed seed):
- ``age``: half of the encounters one age band older (the oldest band stays);
- ``medication``: insulin dropped to ``No`` for every encounter (one medication no longer prescribed);
- ``missing``: ``num_medications`` missing in 10 % of encounters (a broken field in an upstream extract);
- ``unseen``: ``medical_specialty`` set to a specialty the training data never had in 5 % of encounters.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from pipeline_code.common.contracts import adherence as contract

ROOT = Path(__file__).resolve().parents[1]
DATA_FILE = ROOT / "data" / "diabetes-130-us-hospitals" / "diabetic_data.csv.gz"
HELD_OUT: Final = "test"
UNSEEN_SPECIALTY: Final = "Telehealth"


def held_out_rows(run_dir: Path, data_file: Path = DATA_FILE) -> pd.DataFrame:
    """Raw rows (as the contract reads them) of the run's held-out split, from the run's ``splits.csv``."""
    splits = pd.read_csv(run_dir / "splits.csv", dtype=str)
    ids = set(splits.loc[splits["split"] == HELD_OUT, contract.ENCOUNTER_ID])
    raw = pd.read_csv(data_file, **contract.READ_CSV_OPTIONS)
    rows = raw[raw[contract.ENCOUNTER_ID].isin(ids)].reset_index(drop=True)
    if rows.empty:
        raise SystemExit(f"no row of {data_file} is in the {HELD_OUT!r} split of {run_dir}")
    return rows


def _age(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    bands = list(contract.AGE_BANDS)
    older = {band: bands[min(i + 1, len(bands) - 1)] for i, band in enumerate(bands)}
    pick = rng.random(len(frame)) < 0.5
    frame.loc[pick, "age"] = frame.loc[pick, "age"].map(older)
    return frame


def _medication(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    frame["insulin"] = contract.MEDICATION_NOT_TAKEN
    return frame


def _missing(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    frame.loc[rng.random(len(frame)) < 0.10, "num_medications"] = np.nan
    return frame


def _unseen(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    frame.loc[rng.random(len(frame)) < 0.05, "medical_specialty"] = UNSEEN_SPECIALTY
    return frame


SHIFTS: Final[dict[str, Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]]] = {
    "age": _age,
    "medication": _medication,
    "missing": _missing,
    "unseen": _unseen,
}


def shifted(frame: pd.DataFrame, shift: str, *, seed: int = 0) -> pd.DataFrame:
    """A shifted copy of ``frame`` (``shift`` one of :data:`SHIFTS`)."""
    if shift not in SHIFTS:
        raise ValueError(f"unknown shift {shift!r}; one of {sorted(SHIFTS)}")
    return SHIFTS[shift](frame.copy(), np.random.default_rng(seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="run directory of `mlops run adherence`")
    parser.add_argument("--shift", choices=sorted(SHIFTS), required=True)
    parser.add_argument("--rows", type=int, default=2000, help="rows drawn from the held-out split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = held_out_rows(args.run)
    sample = rows.sample(n=min(args.rows, len(rows)), random_state=args.seed).reset_index(drop=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shifted(sample, args.shift, seed=args.seed).to_csv(args.out, index=False, na_rep=contract.MISSING_TOKEN)
    print(f"{args.out}: {len(sample)} held-out rows, shift {args.shift!r}")


if __name__ == "__main__":
    main()
