"""A tiny intent data set and one quick pipeline run on it, shared by the intent tests."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pipeline_code.dag.assembler import PipelineAssembler
from pipeline_code.dag.local import LocalExecutor, RunResult
from pipeline_code.intent.specs import DEFINITION

INTENTS = {
    "balance": [
        "what is my balance",
        "how much money do i have",
        "show my account balance",
        "balance please",
        "tell me my balance",
        "how much is in my account",
    ],
    "weather": [
        "what is the weather today",
        "will it rain tomorrow",
        "is it sunny outside",
        "weather forecast",
        "how hot is it today",
        "do i need an umbrella",
    ],
    "timer": [
        "set a timer for ten minutes",
        "start a timer",
        "timer for five minutes",
        "set a countdown",
        "remind me in an hour with a timer",
        "start a two minute timer",
    ],
    "music": [
        "play some music",
        "play my playlist",
        "put on a song",
        "play jazz",
        "start the music",
        "play something relaxing",
    ],
}
OOS = [
    "who won the world cup in 1998",
    "how do i bake bread",
    "what is the capital of peru",
    "tell me about black holes",
]

# A quick run: two fine-tuning steps, one latency thread, small latency sample, gate recorded but not failing.
QUICK = {
    "IntentTrain": {"max_steps": 2, "init_rows_per_class": 2, "batch_size": 8},
    "IntentEvaluate": {"latency_utterances": 4, "latency_warmup": 1, "latency_threads": "1"},
    "IntentGate": {"fail_run": False},
}


def write_csv(rows: list[tuple[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def tiny_dataset(folder: Path) -> Path:
    """train (4 rows per intent + 2 oos), valid (1 per intent + 1 oos), test (1 per intent + 1 oos)."""
    train = [(t, k) for k, texts in INTENTS.items() for t in texts[:4]] + [(OOS[0], "oos"), (OOS[1], "oos")]
    valid = [(texts[4], k) for k, texts in INTENTS.items()] + [(OOS[2], "oos")]
    test = [(texts[5], k) for k, texts in INTENTS.items()] + [(OOS[3], "oos")]
    write_csv(train, folder / "train.csv")
    write_csv(valid, folder / "valid.csv")
    write_csv(test, folder / "test.csv")
    return folder


@dataclass
class PipelineRun:
    result: RunResult
    executor: LocalExecutor

    def output(self, step: str, name: str) -> Path:
        return self.executor.output_path(step, name)


def run_quick(run_dir: Path, data: Path) -> PipelineRun:
    plan = PipelineAssembler(DEFINITION).assemble(QUICK)
    executor = LocalExecutor(plan, run_dir=run_dir, external_inputs={"raw_data": data})
    return PipelineRun(executor.run(), executor)
