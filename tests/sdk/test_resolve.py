"""One resolver, four layers: runtime > environment > admin config > built-in default, for every parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_sdk.errors import ConfigError
from mlops_sdk.resolve import BY_PATH, LEAVES, env_var, resolve
from tests.sdk.helpers import EXECUTION_ROLE, dev_outputs

ADMIN: dict[str, Any] = {}


def admin_config() -> dict[str, Any]:
    from mlops_sdk.export import config_from_outputs, outputs_from_file

    if not ADMIN:
        import json
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "o.json"
            path.write_text(json.dumps(dev_outputs()))
            ADMIN.update(config_from_outputs(outputs_from_file(path, stage="dev"), stage="dev", source="test"))
    return yaml.safe_load(yaml.safe_dump(ADMIN))  # a fresh deep copy


# Parameters with values that are valid whatever layer holds them: (path, strategy of valid values, as env text).
INSTANCE = st.sampled_from(["ml.m5.large", "ml.m5.xlarge", "ml.c5.2xlarge", "ml.g5.xlarge", "ml.t3.medium"])
PARAMETERS: dict[str, tuple[st.SearchStrategy[Any], Any]] = {
    "training.instance_type": (INSTANCE, str),
    "training.instance_count": (st.integers(1, 100), str),
    "training.volume_size_gb": (st.integers(1, 16384), str),
    "training.max_runtime_seconds": (st.integers(60, 28 * 24 * 3600), str),
    "processing.instance_type": (INSTANCE, str),
    "processing.instance_count": (st.integers(1, 100), str),
    "endpoints.initial_instance_count": (st.integers(1, 100), str),
    "feature_store.online_store_enabled": (st.booleans(), lambda b: "true" if b else "false"),
    "network.enable_network_isolation": (st.booleans(), lambda b: "true" if b else "false"),
    "s3.training_prefix": (st.from_regex(r"[a-z0-9][a-z0-9/-]{0,20}", fullmatch=True), str),
    "region": (st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"]), str),
}
LAYER_NAMES = ("runtime", "environment", "admin config")


@st.composite
def layered(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """For each parameter, a value in any subset of the three upper layers."""
    choice: dict[str, dict[str, Any]] = {}
    for path, (values, _) in PARAMETERS.items():
        present = draw(st.sets(st.sampled_from(LAYER_NAMES)))
        choice[path] = {layer: draw(values) for layer in sorted(present)}
    return choice


def _set(nested: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        nested = nested.setdefault(part, {})
    nested[last] = value


@settings(max_examples=60, deadline=None)
@given(layered())
def test_every_parameter_comes_from_the_highest_layer_that_sets_it(choice: dict[str, dict[str, Any]]):
    runtime: dict[str, Any] = {}
    environ: dict[str, str] = {}
    admin = admin_config()
    for path, by_layer in choice.items():
        if "runtime" in by_layer:
            runtime[path] = by_layer["runtime"]
        if "environment" in by_layer:
            environ[env_var(path)] = PARAMETERS[path][1](by_layer["environment"])
        if "admin config" in by_layer:
            _set(admin, path, by_layer["admin config"])
        elif path in ("region",):
            pass  # required: the admin config always holds it (exported)
        else:
            *parents, last = path.split(".")
            node = admin
            for part in parents:
                node = node.get(part, {})
            node.pop(last, None)  # leave it to the built-in default
    resolved = resolve(runtime=runtime, environ=environ, admin=admin, admin_source="dev.yaml")
    flat = {path: value for path, value, _ in resolved.explain()}
    for path, by_layer in choice.items():
        expected_layer = next((layer for layer in LAYER_NAMES if layer in by_layer), None)
        origin = resolved.origins[path]
        if expected_layer is None:
            if path == "region":
                assert origin.layer == "admin config"
                continue
            assert origin.layer == "built-in default"
            assert flat[path] == BY_PATH[path].default
        else:
            assert origin.layer == expected_layer
            assert flat[path] == by_layer[expected_layer]
        if origin.layer == "environment":
            assert origin.detail == env_var(path)


@settings(max_examples=40, deadline=None)
@given(layered(), st.sampled_from(LAYER_NAMES))
def test_removing_a_lower_layer_never_changes_a_value_a_higher_layer_sets(choice, dropped):
    def build(skip: str | None) -> dict[str, Any]:
        runtime, environ, admin = {}, {}, admin_config()
        for path, by_layer in choice.items():
            for layer, value in by_layer.items():
                if layer == skip:
                    continue
                if layer == "runtime":
                    runtime[path] = value
                elif layer == "environment":
                    environ[env_var(path)] = PARAMETERS[path][1](value)
                else:
                    _set(admin, path, value)
        resolved = resolve(runtime=runtime, environ=environ, admin=admin)
        return {path: (value, o.layer) for path, value, o in resolved.explain()}

    full, without = build(None), build(dropped)
    rank = {layer: i for i, layer in enumerate((*LAYER_NAMES, "built-in default"))}
    for path, (value, layer) in full.items():
        if rank[layer] < rank[dropped]:
            assert without[path] == (value, layer), path


def test_every_parameter_has_an_environment_variable_and_explain_covers_them_all():
    resolved = resolve(admin=admin_config())
    rows = resolved.explain()
    assert [path for path, _, _ in rows] == [leaf.path for leaf in LEAVES]
    assert env_var("training.instance_type") == "MLOPS_TRAINING__INSTANCE_TYPE"
    assert env_var("region") == "MLOPS_REGION"
    assert resolved.origins["iam.execution_role_arn"].layer == "admin config"
    assert resolved.config.iam.execution_role_arn == EXECUTION_ROLE
    assert resolved.origins["training.instance_type"].layer == "built-in default"


def test_environment_lists_are_comma_separated_and_maps_json():
    resolved = resolve(
        admin=admin_config(),
        environ={
            "MLOPS_NETWORK__SUBNET_IDS": "subnet-0123456789abcdef0, subnet-0123456789abcdef1",
            "MLOPS_NETWORK__SECURITY_GROUP_IDS": "sg-0123456789abcdef0",
            "MLOPS_PIPELINES": '{"adherence": "team-a-adherence"}',
            "MLOPS_RUNS_DIR": "/not/ours",  # outside the config sections: not a parameter, ignored
        },
    )
    assert resolved.config.network.subnet_ids == ("subnet-0123456789abcdef0", "subnet-0123456789abcdef1")
    assert resolved.config.pipeline_name("adherence") == "team-a-adherence"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"environ": {"MLOPS_TRAINING__INSTANCE_COUNT": "many"}},
            r"training\.instance_count: Input should be a valid integer.*\[from environment: "
            r"MLOPS_TRAINING__INSTANCE_COUNT\]",
        ),
        (
            {"runtime": {"training.instance_type": "m5.large"}},
            r"training\.instance_type: String should match pattern.*\[from runtime",
        ),
        (
            {"environ": {"MLOPS_TRAINING__INSTANCE_TYP": "ml.m5.large"}},
            r"MLOPS_TRAINING__INSTANCE_TYP names no platform parameter; did you mean MLOPS_TRAINING__INSTANCE_TYPE",
        ),
        (
            {"runtime": {"training.instance_typ": "ml.m5.large"}},
            r"runtime arguments: unknown parameter\(s\): training\.instance_typ \(did you mean training\.instance_type",
        ),
        ({"environ": {"MLOPS_PIPELINES": "adherence=x"}}, r"MLOPS_PIPELINES: not a JSON object"),
        (
            {"environ": {"MLOPS_NETWORK__SUBNET_IDS": "subnet-0123456789abcdef0"}},
            r"subnet_ids and security_group_ids must be set together",
        ),
    ],
)
def test_a_bad_value_names_the_parameter_and_the_layer_that_set_it(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        resolve(admin=admin_config(), **kwargs)


def test_an_admin_config_without_required_values_says_where_to_set_them():
    admin = admin_config()
    del admin["iam"]
    with pytest.raises(ConfigError, match=r"iam: required, no layer sets it|iam\.execution_role_arn: required"):
        resolve(admin=admin, admin_source="dev.yaml")


def test_an_unknown_key_in_the_admin_config_is_named_with_its_file():
    admin = admin_config()
    admin["training"] = {"instance_typo": "ml.m5.large"}
    with pytest.raises(ConfigError, match=r"dev\.yaml: unknown parameter\(s\): training\.instance_typo"):
        resolve(admin=admin, admin_source="dev.yaml")


def test_runtime_text_for_lists_and_maps_is_parsed_like_the_environment():
    resolved = resolve(
        admin=admin_config(),
        runtime={
            "network.subnet_ids": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
            "network.security_group_ids": ("sg-0123456789abcdef0",),
            "pipelines": '{"adherence": "x-adherence"}',
        },
    )
    assert resolved.config.network.subnet_ids == ("subnet-0123456789abcdef0", "subnet-0123456789abcdef1")
    assert resolved.config.pipelines == {"adherence": "x-adherence"}
