"""The synthesized platform shared by every test that asserts on templates (one synth per pytest session).

``tests/conftest.py`` exposes it as the session fixture ``synthesized``; stack tests of every folder use it, so adding
a stack adds assertions, not another synth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Stack, Token
from aws_cdk.assertions import Template

import app as cdk_app
from stacks.delivery import DeliveryStack
from stacks.nag import NagFinding, nag_errors, synth_warnings
from stacks.settings import STAGES, StageSettings
from stacks.stage import MlopsStage


@dataclass
class SynthesizedApp:
    outdir: Path
    stages: dict[str, MlopsStage]
    findings: list[NagFinding]
    warnings: list[NagFinding]
    # The delivery pipeline (config/delivery.yaml), with its own MlopsStage of each stage it deploys.
    delivery: DeliveryStack | None = None
    # `python app.py` in another process, started before the in-process synth so the two overlap on two cores;
    # another process means another jsii kernel (another temporary path), which is what a second `cdk synth` sees.
    independent: subprocess.Popen[str] | None = field(default=None, repr=False)
    independent_outdir: Path | None = None
    # cfn-lint over every template, started as soon as the templates exist; tests on the templates run meanwhile.
    lint: subprocess.Popen[str] | None = field(default=None, repr=False)

    def start_cfn_lint(self) -> None:
        cfn_lint = Path(sys.executable).parent / "cfn-lint"
        stacks = [stack for stage in self.stages for stack in self.stacks(stage)] + self.delivery_stacks()
        regions = sorted({stack.region for stack in stacks if not Token.is_unresolved(stack.region)})  # not products
        cmd = [str(cfn_lint), "--regions", *regions, "--format", "parseable", *map(str, self.template_files())]
        self.lint = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop_background(self) -> None:
        """End the independent synth and cfn-lint if no test waited for them."""
        for process in (self.independent, self.lint):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()

    def cfn_lint_result(self) -> tuple[int, str]:
        """cfn-lint's exit code (a bit mask: 1 fatal, 2 errors, 4 warnings, 8 informational) and its output."""
        if self.lint is None:
            self.start_cfn_lint()
        assert self.lint is not None
        output, _ = self.lint.communicate(timeout=600)
        return self.lint.returncode, output

    def independent_synth(self) -> dict[str, bytes]:
        """Wait for the independent synth and return its files (``all_files`` layout)."""
        assert self.independent is not None and self.independent_outdir is not None
        _, stderr = self.independent.communicate(timeout=600)
        if self.independent.returncode != 0:
            raise AssertionError(f"python app.py exited {self.independent.returncode}:\n{stderr}")
        out = self.independent_outdir
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    def template(self, stage: str, stack: str) -> Template:
        return Template.from_stack(getattr(self.stages[stage], stack))

    def stack(self, stage: str, stack: str) -> Stack:
        return getattr(self.stages[stage], stack)

    def stacks(self, stage: str) -> list[Stack]:
        """Every stack of ``stage``, in construct order (new stacks are picked up without listing them)."""
        return [child for child in self.stages[stage].node.children if isinstance(child, Stack)]

    def product_stacks(self, stage: str) -> list[Stack]:
        """The Service Catalog product templates of ``stage`` (``ProductStack``s inside its stacks)."""
        from aws_cdk.aws_servicecatalog import ProductStack

        return [c for c in self.stages[stage].node.find_all() if isinstance(c, ProductStack)]

    def delivery_stacks(self) -> list[Stack]:
        """The Delivery stack, its cross-region support stacks, the stacks of the stages inside it and their product
        templates."""
        if self.delivery is None:
            return []
        support = self.delivery.support_stacks()
        nested = [child for stage in self.delivery.stages for child in stage.node.children if isinstance(child, Stack)]
        from aws_cdk.aws_servicecatalog import ProductStack

        products = [c for stage in self.delivery.stages for c in stage.node.find_all() if isinstance(c, ProductStack)]
        return [self.delivery, *support, *nested, *products]

    def all_files(self) -> dict[str, bytes]:
        """Every file of the cloud assembly (templates, manifests, tree, metadata, assets) by relative path."""
        return {str(p.relative_to(self.outdir)): p.read_bytes() for p in sorted(self.outdir.rglob("*")) if p.is_file()}

    def template_files(self) -> list[Path]:
        """The stages' templates and the app-level ones (the Delivery stack and its support stacks)."""
        return sorted(self.outdir.glob("*.template.json")) + sorted(self.outdir.glob("assembly-*/*.template.json"))

    def raw_templates(self) -> dict[str, dict]:
        return {str(p.relative_to(self.outdir)): json.loads(p.read_text()) for p in self.template_files()}


def start_app_synth(outdir: Path) -> subprocess.Popen[str]:
    """``python app.py -c delivery=true`` (every stage and the pipeline, the shipped config) into ``outdir``, in the
    background: the same app as the in-process synth."""
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env["CDK_CONTEXT_JSON"] = json.dumps({"delivery": "true"})
    return subprocess.Popen(
        [sys.executable, str(Path(cdk_app.__file__))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def synth_all(outdir: Path, *, independent_outdir: Path | None = None) -> SynthesizedApp:
    """Synthesize every stage in this process; with ``independent_outdir``, also start ``python app.py`` into it."""
    independent = start_app_synth(independent_outdir) if independent_outdir is not None else None
    app = cdk_app.new_app(outdir=str(outdir))
    settings: list[StageSettings] = [cdk_app.load_stage_settings(stage) for stage in STAGES]
    stages = cdk_app.build_app(app, settings)
    delivery_settings = cdk_app.load_delivery_settings()
    assert delivery_settings is not None, "config/delivery.yaml ships with the repository"
    delivery = cdk_app.build_delivery(app, delivery_settings, settings)
    assembly = app.synth()
    return SynthesizedApp(
        outdir=outdir,
        stages={s.settings.stage: s for s in stages},
        delivery=delivery,
        findings=nag_errors(assembly),
        warnings=synth_warnings(assembly),
        independent=independent,
        independent_outdir=independent_outdir,
    )
