"""config/delivery.yaml: validation, and the cross-stage checks (shared accounts, personas reaching prod).

No synth here, except the app runs that prove the checks stop ``app.py`` before any synth.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stacks.delivery_settings import (
    EXAMPLE_CONNECTION_ARN,
    StageSource,
    check_stage_targets,
    parse_delivery_settings,
    pinned_cli_version,
)
from stacks.settings import ConfigError, parse_stage_settings

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = yaml.safe_load((ROOT / "config" / "delivery.yaml").read_text())
STAGE_FILES = {
    name: yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text()) for name in ("dev", "staging", "prod")
}
SOURCE = "config/delivery.yaml"


def _sources(personas: dict[str, dict] | None = None, accounts: dict[str, str] | None = None) -> dict[str, StageSource]:
    result = {}
    for name, raw in STAGE_FILES.items():
        doc = copy.deepcopy(raw)
        if personas and name in personas:
            doc["personas"] = {**doc.get("personas", {}), **personas[name]}
        if accounts and name in accounts:
            doc["account"] = accounts[name]
        result[name] = StageSource(parse_stage_settings(doc, source=f"config/{name}.yaml"), f"config/{name}.yaml")
    return result


def _delivery(**changes):
    return parse_delivery_settings({**SHIPPED, **changes}, source=SOURCE)


def test_the_shipped_file_is_valid_uses_the_example_arn_and_gives_every_stage_its_own_account():
    delivery = _delivery()
    assert delivery.connection_arn == EXAMPLE_CONNECTION_ARN and delivery.example_connection
    assert delivery.stage_names == ("dev", "staging", "prod")
    accounts = check_stage_targets(delivery, _sources(), source=SOURCE)
    assert len(set(accounts.values())) == 3 and delivery.account not in accounts.values()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"connection_arn": "arn:aws:codecommit:us-east-1:111111111111:repo"}, "connection_arn"),
        ({"repository": "no-owner"}, "repository"),
        ({"account": "1234"}, "account"),
        ({"region": "mars-1"}, "region"),
        ({"stages": []}, "stages"),
        (
            {"stages": [{"stage": "prod", "account": "444444444444"}, {"stage": "dev", "account": "222222222222"}]},
            "dev -> staging -> prod",
        ),
        (
            {"stages": [{"stage": "dev", "account": "222222222222"}, {"stage": "dev", "account": "333333333333"}]},
            "at most once",
        ),
        ({"stages": [{"stage": "sandbox", "account": "222222222222"}]}, "stages.0.stage"),
        ({"stages": [{"stage": "dev"}]}, "stages.0.account"),
        ({"shared_accounts": [["dev", "qa"]]}, "shared_accounts.0.1"),
        ({"shared_accounts": [["dev", "dev"]]}, "names one stage twice"),
        (
            {"stages": [{"stage": "dev", "account": "222222222222"}], "shared_accounts": [["dev", "prod"]]},
            "prod, not in stages",
        ),
        ({"unknown_key": 1}, "unknown_key"),
    ],
)
def test_invalid_delivery_settings_name_the_file_and_key(changes, fragment):
    with pytest.raises(ConfigError) as caught:
        _delivery(**changes)
    assert SOURCE in str(caught.value) and fragment in str(caught.value)


def test_a_stage_file_account_must_agree_with_the_delivery_file():
    with pytest.raises(ConfigError) as caught:
        check_stage_targets(_delivery(), _sources(accounts={"staging": "999999999999"}), source=SOURCE)
    message = str(caught.value)
    assert "config/delivery.yaml: stages.1.account" in message and "config/staging.yaml" in message


def test_the_cli_version_must_be_pinned_exactly():
    assert pinned_cli_version(json.loads((ROOT / "package.json").read_text()), source="package.json")
    with pytest.raises(ConfigError, match=r"package\.json: devDependencies\.aws-cdk"):
        pinned_cli_version({"devDependencies": {"aws-cdk": "^2.1000.0"}}, source="package.json")


# --- the cross-stage check over generated configurations -------------------------------------------------------

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
# A small universe of principals: each account's root and two roles, so that overlaps are frequent.
PRINCIPALS = tuple(
    arn
    for account in ACCOUNTS
    for arn in (f"arn:aws:iam::{account}:root", *(f"arn:aws:iam::{account}:role/p{i}" for i in (1, 2)))
)
NAMES = ("dev", "staging", "prod")


def _admitted(trusted: set[str]) -> set[str]:
    """Every principal of the universe a trust list lets in (an account root lets in the whole account)."""
    return {p for p in PRINCIPALS if p in trusted or f"arn:aws:iam::{p.split(':')[4]}:root" in trusted}


def _trusted(personas: dict[str, list[str]], account: str) -> set[str]:
    found: set[str] = set()
    for listed in personas.values():
        found |= set(listed) if listed else {f"arn:aws:iam::{account}:root"}
    return found


@st.composite
def configurations(draw):
    names = draw(st.sampled_from([NAMES, NAMES[1:], (NAMES[0], NAMES[2]), NAMES[:2]]))
    accounts = {name: draw(st.sampled_from(ACCOUNTS)) for name in names}
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    shared = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    personas = {
        name: {
            key: draw(st.lists(st.sampled_from(PRINCIPALS), max_size=2, unique=True))
            for key in ("data_scientist_principals", "ml_engineer_principals")
        }
        for name in NAMES
    }
    return names, accounts, shared, personas


@settings(max_examples=300)
@given(configurations())
def test_the_check_refuses_exactly_shared_accounts_not_stated_and_lower_personas_reaching_prod(config):
    names, accounts, shared, personas = config
    delivery = _delivery(
        stages=[{"stage": name, "account": accounts[name]} for name in names],
        shared_accounts=[list(pair) for pair in shared],
    )
    sources = _sources(personas=personas)

    # The oracle: IAM semantics over the universe of principals, written independently of the implementation.
    collisions = [
        (a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if accounts[a] == accounts[b] and (a, b) not in shared and (b, a) not in shared
    ]
    reaching = []
    if "prod" in names:
        prod_admits = _admitted(_trusted(personas["prod"], accounts["prod"]))
        for lower in (n for n in names if n != "prod"):
            for principal in _trusted(personas[lower], accounts[lower]):
                if _admitted({principal}) & prod_admits:
                    reaching.append((lower, principal))

    if not collisions and not reaching:
        assert check_stage_targets(delivery, sources, source=SOURCE) == accounts
        return
    with pytest.raises(ConfigError) as caught:
        check_stage_targets(delivery, sources, source=SOURCE)
    message = str(caught.value)
    for a, b in collisions:
        assert f"{SOURCE}: stages: {a} and {b} both deploy to account {accounts[a]}" in message
        assert f"[{a}, {b}] under shared_accounts" in message
    for lower, principal in reaching:
        assert f"config/{lower}.yaml: personas." in message and f"{principal} can reach prod" in message
    assert len(message.splitlines()) == len(collisions) + len(reaching)


def test_two_stages_may_share_an_account_when_the_file_says_so_but_personas_still_may_not_reach_prod():
    stages = [{"stage": "dev", "account": "222222222222"}, {"stage": "prod", "account": "222222222222"}]
    with pytest.raises(ConfigError, match=r"dev and prod both deploy to account 222222222222"):
        check_stage_targets(_delivery(stages=stages), _sources(), source=SOURCE)
    allowed = _delivery(stages=stages, shared_accounts=[["prod", "dev"]])
    with pytest.raises(ConfigError) as caught:  # both trust the shared account's root: dev's people reach prod
        check_stage_targets(allowed, _sources(), source=SOURCE)
    assert "config/dev.yaml: personas.data_scientist_principals (empty: the stage's account)" in str(caught.value)
    distinct = {
        "dev": {
            "data_scientist_principals": ["arn:aws:iam::222222222222:role/dev-ds"],
            "ml_engineer_principals": ["arn:aws:iam::222222222222:role/dev-mle"],
        },
        "prod": {
            "data_scientist_principals": ["arn:aws:iam::222222222222:role/prod-ds"],
            "ml_engineer_principals": ["arn:aws:iam::222222222222:role/prod-mle"],
        },
    }
    assert check_stage_targets(allowed, _sources(personas=distinct), source=SOURCE) == {
        "dev": "222222222222",
        "prod": "222222222222",
    }


# --- app.py stops before any synth --------------------------------------------------------------------------------


def _run_app(config_dir: Path, out: Path) -> subprocess.CompletedProcess:
    context = {"config_dir": str(config_dir), "delivery": "true"}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(out)}
    return subprocess.run([sys.executable, str(ROOT / "app.py")], capture_output=True, text=True, env=env, check=False)


def test_app_exits_2_naming_file_and_key_when_two_stages_share_an_account(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    doc = copy.deepcopy(SHIPPED)
    doc["stages"][1]["account"] = doc["stages"][0]["account"]
    (config / "delivery.yaml").write_text(yaml.safe_dump(doc))
    result = _run_app(config, tmp_path / "out")
    assert result.returncode == 2, result.stderr
    assert f"{config / 'delivery.yaml'}: stages: dev and staging both deploy to account" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("assembly-*"))


def test_app_without_a_delivery_file_in_another_config_dir_has_no_pipeline_but_the_shipped_dir_needs_it(tmp_path):
    import app as cdk_app

    assert cdk_app.load_delivery_settings(config_dir=tmp_path) is None
    assert cdk_app.load_delivery_settings() is not None
    (tmp_path / "delivery.yaml").write_text("connection_arn: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        cdk_app.load_delivery_settings(config_dir=tmp_path)


def test_make_deploy_delivery_refuses_the_example_connection_before_any_aws_call(tmp_path, capsys):
    import app as cdk_app

    assert cdk_app.delivery_deploy_check() == 1
    assert "Refusing to deploy the Delivery stack" in capsys.readouterr().err
    real = {
        **SHIPPED,
        "connection_arn": "arn:aws:codeconnections:us-east-1:111111111111:connection/"
        + "1" * 8
        + "-2222-3333-4444-"
        + "5" * 12,
    }
    (tmp_path / "delivery.yaml").write_text(yaml.safe_dump(real))
    assert cdk_app.delivery_deploy_check(config_dir=tmp_path) == 0
    assert cdk_app.delivery_deploy_check(config_dir=tmp_path / "missing") == 1
    makefile = (ROOT / "Makefile").read_text()
    target = makefile[makefile.index("deploy-delivery:") :].split("\n\n")[0]
    assert target.index("delivery_deploy_check") < target.index("deploy Delivery")
