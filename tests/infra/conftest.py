"""Synthesize every stage once per test session; tests assert on the resulting templates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

import app as cdk_app
from stacks.nag import NagFinding, nag_errors
from stacks.settings import STAGES, StageSettings
from stacks.stage import MlopsStage


@dataclass
class SynthesizedApp:
    outdir: Path
    stages: dict[str, MlopsStage]
    findings: list[NagFinding]

    def template(self, stage: str, stack: str) -> Template:
        return Template.from_stack(getattr(self.stages[stage], stack))

    def stack(self, stage: str, stack: str) -> Stack:
        return getattr(self.stages[stage], stack)

    def template_files(self) -> list[Path]:
        return sorted(self.outdir.glob("assembly-*/*.template.json"))

    def raw_templates(self) -> dict[str, dict]:
        return {str(p.relative_to(self.outdir)): json.loads(p.read_text()) for p in self.template_files()}


def synth_all(outdir: Path) -> SynthesizedApp:
    app = cdk_app.new_app(outdir=str(outdir))
    settings: list[StageSettings] = [cdk_app.load_stage_settings(stage) for stage in STAGES]
    stages = cdk_app.build_app(app, settings)
    assembly = app.synth()
    return SynthesizedApp(outdir=outdir, stages={s.settings.stage: s for s in stages}, findings=nag_errors(assembly))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    return synth_all(tmp_path_factory.mktemp("cdk.out"))
