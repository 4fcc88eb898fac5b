"""The adherence model's definition assembles into the expected plan (nothing runs)."""

from __future__ import annotations

import pytest

from pipeline_code.dag import ExternalInputRef, StepOutputRef, assemble


def test_adherence_plan_order_and_wiring() -> None:
    specs = pytest.importorskip("pipeline_code.adherence.specs")
    plan = assemble(specs.DEFINITION)
    assert plan.order == (
        "AdherenceValidate",
        "AdherenceFeatures",
        "AdherenceIngest",
        "AdherenceSplit",
        "AdherenceTrain",
        "AdherenceBaseline",
        "AdherenceEvaluate",
        "AdherencePredict",
    )
    assert plan.step("AdherenceValidate").inputs == {"raw_data": ExternalInputRef("raw_data")}
    assert plan.step("AdherenceTrain").inputs == {
        "train": StepOutputRef("AdherenceSplit", "train"),
        "validation": StepOutputRef("AdherenceSplit", "validation"),
    }
    for sink in ("AdherenceEvaluate", "AdherencePredict"):
        assert plan.step(sink).inputs["model"] == StepOutputRef("AdherenceTrain", "model")
        assert plan.step(sink).inputs["test"] == StepOutputRef("AdherenceSplit", "test")
    assert plan.step("AdherenceIngest").inputs == {"features": StepOutputRef("AdherenceFeatures", "features")}
    assert plan.step("AdherenceBaseline").inputs == {
        "validated": StepOutputRef("AdherenceValidate", "validated"),
        "splits": StepOutputRef("AdherenceSplit", "splits"),
        "model": StepOutputRef("AdherenceTrain", "model"),
        "validation": StepOutputRef("AdherenceSplit", "validation"),
    }
