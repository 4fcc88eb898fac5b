"""The synthesized platform shared by every test that asserts on templates (one synth per pytest session).

``tests/conftest.py`` exposes it as the session fixture ``synthesized``; stack tests of every folder use it, so adding
a stack adds assertions, not another synth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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

    def stacks(self, stage: str) -> list[Stack]:
        """Every stack of ``stage``, in construct order (new stacks are picked up without listing them)."""
        return [child for child in self.stages[stage].node.children if isinstance(child, Stack)]

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
