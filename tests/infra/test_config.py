"""Configuration: invalid files are rejected before synth with the field path and reason; valid ones synthesize."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import app as cdk_app
from stacks.nag import nag_errors
from stacks.settings import (
    CPU_TRAINING_FAMILIES,
    GPU_TRAINING_FAMILIES,
    ConfigError,
    MlPlatformSettings,
    parse_stage_settings,
)
from stacks.stage import MlopsStage

ROOT = Path(__file__).resolve().parents[2]
VALID = yaml.safe_load((ROOT / "config" / "dev.yaml").read_text())

# (path to set, an invalid value, a fragment the error must contain)
INVALID_CASES = [
    (("budget", "limit_usd"), 0, "budget.limit_usd"),
    (("budget", "limit_usd"), -5, "budget.limit_usd"),
    (("budget", "limit_usd"), "ten", "budget.limit_usd"),
    (("budget", "alert_emails"), ["not-an-email"], "budget.alert_emails.0"),
    (("budget", "actual_thresholds_percent"), [50, 50], "budget.actual_thresholds_percent"),
    (("region",), "moon-base-1", "region"),
    (("account",), "12345", "account"),
    (("stage",), "qa", "stage"),
    (("project",), "Has Spaces", "project"),
    (("removal_policy",), "destroy", "removal_policy 'destroy' is only allowed for the sandbox"),
    (("removal_policy",), "sometimes", "removal_policy"),
    (("lifecycle", "infrequent_access_after_days"), 10, "lifecycle.infrequent_access_after_days"),
    (("lifecycle", "glacier_after_days"), 40, "lifecycle"),
    (("lifecycle", "noncurrent_version_expiration_days"), 0, "lifecycle.noncurrent_version_expiration_days"),
    (("personas", "data_scientist_principals"), ["bob"], "personas.data_scientist_principals.0"),
    (("replication", "region"), "us-east-1", "replication.region must differ"),
    (("tags",), {"aws:reserved": "x"}, "tags"),
    (("unknown_setting",), True, "unknown_setting"),
    (("budget", "limit_dollars"), 10, "budget.limit_dollars"),
    (("ml_platform", "training_instance_type"), "m5.large", "ml_platform.training_instance_type"),
    (("ml_platform", "retraining_schedule"), "every monday", "ml_platform.retraining_schedule"),
    (("ml_platform", "raw_data_prefix"), "/adherence", "ml_platform.raw_data_prefix"),
    (("ml_platform", "subnet_ids"), ["subnet-0123456789abcdef0"], "subnet_ids and security_group_ids go together"),
    (("ml_platform", "security_group_ids"), ["default"], "ml_platform.security_group_ids.0"),
    (("ml_platform", "online_stores"), True, "ml_platform.online_stores"),
    (("ml_platform", "intent_training_instance_type"), "g5.xlarge", "ml_platform.intent_training_instance_type"),
    (("ml_platform", "intent_training_instance_type"), "ml.t2.medium", "not a training instance type"),
    (("ml_platform", "intent_training_instance_type"), "ml.g5.huge", "GPU family (g4dn, g5"),
    (("ml_platform", "intent_raw_data_prefix"), "intent", "ml_platform.intent_raw_data_prefix"),
]


def _with(path: tuple[str, ...], value: object) -> dict:
    raw = copy.deepcopy(VALID)
    node = raw
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return raw


@pytest.mark.parametrize(("path", "value", "fragment"), INVALID_CASES)
def test_invalid_setting_is_named_in_the_error(path, value, fragment):
    with pytest.raises(ConfigError) as error:
        parse_stage_settings(_with(path, value), source="config/dev.yaml")
    message = str(error.value)
    assert message.startswith("config/dev.yaml:")
    assert fragment in message


def test_a_required_setting_missing_is_named():
    raw = copy.deepcopy(VALID)
    del raw["budget"]
    with pytest.raises(ConfigError, match=r"budget: Field required"):
        parse_stage_settings(raw, source="x.yaml")


@pytest.mark.parametrize("document", [None, [], "dev", 3])
def test_a_document_that_is_not_a_mapping_is_rejected(document):
    with pytest.raises(ConfigError, match="expected a mapping"):
        parse_stage_settings(document, source="x.yaml")


def _unique_percentages(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(set(value)) == len(value)
        and all(isinstance(v, int) and 0 < v <= 1000 for v in value)
    )


# What the config accepts at a path among the junk values below, and why it is right to accept it. Any other junk
# value must be rejected, with the full path in the error. (The earlier version of the property assumed only
# None/[]/{} could be valid and failed at random on budget.actual_thresholds_percent = [1].)
LEGITIMATE_JUNK: dict[tuple[str, ...], tuple[Callable[[object], bool], str]] = {
    ("budget", "actual_thresholds_percent"): (
        _unique_percentages,
        "unique percentages in (0, 1000] are alert thresholds (an alert at 1 % is legitimate); [] means no alert on "
        "actual cost, only the forecast ones",
    ),
    ("budget", "alert_emails"): (lambda v: v == [], "no e-mail subscriber: alerts still reach the alerts topic"),
    ("account",): (lambda v: v is None, "the account is optional: cdk deploys to the account of the credentials"),
    ("lifecycle", "glacier_after_days"): (lambda v: v is None, "no Glacier Instant Retrieval tier"),
    ("personas", "data_scientist_principals"): (
        lambda v: v == [],
        "no principal listed: principals of the deploying account may assume the role, as IAM allows",
    ),
    ("tags",): (lambda v: v == {}, "no extra cost-allocation tags"),
    ("ml_platform", "retraining_schedule"): (
        lambda v: v is None,
        "no schedule: retraining starts on new raw data or by hand",
    ),
    ("ml_platform", "subnet_ids"): (lambda v: v == [], "no VPC: the jobs run in SageMaker's own network"),
    ("ml_platform", "security_group_ids"): (lambda v: v == [], "no VPC: the jobs run in SageMaker's own network"),
}
JUNK = st.one_of(
    st.none(), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@given(path=st.sampled_from([p for p, _, _ in INVALID_CASES]), junk=JUNK)
@example(path=("budget", "actual_thresholds_percent"), junk=[1])
@example(path=("budget", "actual_thresholds_percent"), junk=[])
@example(path=("tags",), junk={"a": 1})
@settings(max_examples=80)
def test_junk_is_rejected_with_its_full_path_unless_the_config_legitimately_accepts_it(path, junk):
    accepts, _why = LEGITIMATE_JUNK.get(path, (lambda _v: False, "never"))
    raw = _with(path, junk)
    if accepts(junk):
        parse_stage_settings(raw, source="config/dev.yaml")
        return
    with pytest.raises(ConfigError) as error:
        parse_stage_settings(raw, source="config/dev.yaml")
    assert ".".join(path) in str(error.value)


@pytest.mark.parametrize("path", sorted(LEGITIMATE_JUNK))
def test_every_legitimate_junk_rule_names_a_real_setting_and_a_reason(path):
    assert path in {p for p, _, _ in INVALID_CASES}
    assert len(LEGITIMATE_JUNK[path][1]) > 20


training_types = st.builds(
    "ml.{}.{}".format,
    st.sampled_from(CPU_TRAINING_FAMILIES + GPU_TRAINING_FAMILIES),
    st.sampled_from(["large", "xlarge", "2xlarge", "12xlarge", "48xlarge"]),
)


@given(instance_type=training_types)
def test_every_cpu_and_gpu_training_family_is_accepted_for_the_intent_pipeline(instance_type):
    settings_ = MlPlatformSettings(intent_training_instance_type=instance_type)
    assert settings_.intent_training_on_gpu == (instance_type.split(".")[1] in GPU_TRAINING_FAMILIES)


def test_the_intent_training_default_is_a_cpu_type_and_dev_stays_cheap():
    assert MlPlatformSettings().intent_training_instance_type == "ml.m5.large"
    assert not MlPlatformSettings().intent_training_on_gpu
    dev = parse_stage_settings(VALID, source="config/dev.yaml").ml_platform
    assert dev.intent_training_instance_type == "ml.m5.large" and not dev.intent_training_on_gpu
    assert MlPlatformSettings(intent_training_instance_type="ml.g5.xlarge").intent_training_on_gpu


regions = st.sampled_from(["us-east-1", "us-east-2", "eu-west-1", "eu-central-1", "ap-southeast-2"])


@st.composite
def valid_settings(draw):
    region = draw(regions)
    replica = draw(st.one_of(st.none(), regions.filter(lambda r: r != region)))
    ia = draw(st.integers(30, 120))
    raw = {
        "stage": draw(st.sampled_from(["dev", "staging", "prod"])),
        "project": draw(st.from_regex(r"[a-z][a-z0-9]{1,7}", fullmatch=True)),
        "owner": draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)),
        "region": region,
        "budget": {
            "limit_usd": draw(st.floats(1, 10_000, allow_nan=False)),
            "alert_emails": draw(st.lists(st.from_regex(r"[a-z]{1,8}@example\.com", fullmatch=True), max_size=3)),
        },
        "lifecycle": {
            "infrequent_access_after_days": ia,
            "glacier_after_days": draw(st.one_of(st.none(), st.integers(ia + 30, 400))),
            "noncurrent_version_expiration_days": draw(st.integers(1, 400)),
        },
        "tags": draw(
            st.dictionaries(
                st.from_regex(r"[a-z][a-z-]{0,8}", fullmatch=True),
                st.from_regex(r"[a-z0-9]{0,8}", fullmatch=True),
                max_size=3,
            )
        ),
    }
    if replica:
        raw["replication"] = {"region": replica}
    in_vpc = draw(st.booleans())
    raw["ml_platform"] = {
        "online_store": draw(st.booleans()),
        "retrain_on_new_data": draw(st.booleans()),
        "retraining_schedule": draw(st.sampled_from([None, "rate(7 days)", "cron(0 3 ? * MON *)"])),
        "subnet_ids": ["subnet-0123456789abcdef0"] if in_vpc else [],
        "security_group_ids": ["sg-0123456789abcdef0"] if in_vpc else [],
        "intent_training_instance_type": draw(training_types),
    }
    return raw


@given(raw=valid_settings())
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_valid_settings_synthesize_with_zero_findings(raw):
    stage_settings = parse_stage_settings(raw, source="generated")
    app = cdk_app.new_app()
    MlopsStage(app, stage_settings.construct_id, settings=stage_settings)
    assert nag_errors(app.synth()) == []


def _run_app(tmp_path: Path, context: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path / "out")}
    return subprocess.run([sys.executable, str(ROOT / "app.py")], capture_output=True, text=True, env=env, check=False)


def test_app_exits_2_with_path_and_reason_and_no_traceback(tmp_path):
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(_with(("budget", "limit_usd"), -1)))
    result = _run_app(tmp_path, {"config_dir": str(tmp_path), "stages": "dev"})
    assert result.returncode == 2
    assert "budget.limit_usd" in result.stderr and "greater than 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("assembly-*"))


def test_app_rejects_broken_yaml_and_unknown_stages(tmp_path):
    (tmp_path / "dev.yaml").write_text("stage: dev\nbudget: [unclosed\n")
    broken = _run_app(tmp_path, {"config_dir": str(tmp_path), "stages": "dev"})
    assert broken.returncode == 2 and "not valid YAML" in broken.stderr and "Traceback" not in broken.stderr
    unknown = _run_app(tmp_path, {"config_dir": str(tmp_path), "stages": "qa"})
    assert unknown.returncode == 2 and "unknown stage(s) qa" in unknown.stderr


def test_sandbox_owner_gives_its_own_names():
    alice = cdk_app.load_stage_settings("sandbox", overrides={"owner": "Alice.Smith"})
    assert alice.construct_id == "Sandbox-alice-smith"
    assert alice.resource_prefix == "mlops-sbx-alice-smith"
    assert alice.removal_policy == "destroy"
    with pytest.raises(ConfigError):
        cdk_app.load_stage_settings("sandbox", overrides={"owner": "no spaces allowed"})
