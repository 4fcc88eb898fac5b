"""Real-deploy smoke test: the dev stage's foundation, deployed and destroyed by the pinned CDK CLI on moto.

One pass, as an operator would run it:

1. ``cdk synth -c stages=dev`` once into a temporary cloud assembly (the cdk-nag gate included);
2. ``cdk bootstrap`` of both regions of the stage and ``cdk deploy Dev/DataFoundation Dev/Identity`` of that
   assembly (``--app <dir>``: no second synth). Guardrails and DataReplica are not named: the CLI must pull them in
   through the stage's declared dependencies, and the test checks that it did;
3. boto3 checks of what was created: stacks, the 6 primary and 6 replica buckets, their encryption, the KMS keys,
   the roles under the stage's IAM path; an object put with the bucket's default SSE-KMS;
   then the README's platform-SDK steps on the deployed stage: ``--outputs-file`` of the deploy ->
   ``mlops config export`` (and the same config from the stacks' exports) -> ``Session`` -> the adherence pipeline
   started (created in moto first: its CloudFormation skips SageMaker pipelines) and audited to the stage's group;
4. ``cdk destroy`` of the four stacks, then: the stacks and the roles are gone, every RETAIN bucket and key is still
   there with its data.

What moto cannot show (each such check is a reported skip, never a silent pass; the deployed template is checked
instead, so a product regression still fails):

- moto's CloudFormation does not apply ``VersioningConfiguration``, ``BucketKeyEnabled`` or the key's
  ``RotationPeriodInDays``; nor bucket policies, public access blocks, ownership controls, lifecycle rules,
  access logging or replication (not checked here: tests/infra asserts them on the templates).
- It never deletes a non-empty bucket and still reports the stack deleted (AWS fails the deletion), so only the
  empty buckets prove RETAIN at run time; the deletion policies every bucket and key was deployed with are asserted.
- It stores termination protection but does not enforce it. On AWS, ``cdk destroy`` of the dev DataFoundation and
  DataReplica stacks is refused until an operator turns termination protection off, which is the point of it;
  moto has no ``UpdateTerminationProtection``, so this test checks the flag and then destroys anyway.

``cdk deploy`` needs ``--method=direct`` on moto: its change-set path creates stacks without registering their
exports, so Identity fails on Guardrails' export. tests/deploy/patched_moto_server.py documents the four moto
bugs that would otherwise break the deploy or the destroy.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import moto
import pytest
import yaml
from botocore.exceptions import ClientError

from stacks.settings import StageSettings, parse_stage_settings
from tests.deploy.harness import ACCOUNT, CREDENTIALS, REPO_ROOT, MotoServer, cli_environment, run_cdk

pytestmark = pytest.mark.deploy

SETTINGS: StageSettings = parse_stage_settings(
    yaml.safe_load((REPO_ROOT / "config" / "dev.yaml").read_text(encoding="utf-8")), source="config/dev.yaml"
)
assert SETTINGS.replication is not None, "the smoke test deploys the replicated dev stage"
REGION = SETTINGS.region
REPLICA_REGION = SETTINGS.replication.region
PREFIX = SETTINGS.resource_prefix
ROLE_PATH = f"/{SETTINGS.project}/{SETTINGS.instance}/"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy{ROLE_PATH}{PREFIX}-permissions-boundary"

DATA_PARTS = ("raw", "features", "models", "edge", "artifacts")
LOG_PART = "logs"
TO_DEPLOY = ("Dev/DataFoundation", "Dev/Identity")
DEPLOYED = ("Dev/Guardrails", "Dev/DataReplica", "Dev/DataFoundation", "Dev/Identity")
TERMINATION_PROTECTED = {"Dev/DataReplica", "Dev/DataFoundation"}  # stateful stacks of a RETAIN stage
IDENTITY_ROLES = ("SageMakerExecutionRole", "LambdaExecutionRole", "DataScientistRole", "MlEngineerRole")

SYNTH_TIMEOUT_S = 300
BOOTSTRAP_TIMEOUT_S = 180
DEPLOY_TIMEOUT_S = 300
DESTROY_TIMEOUT_S = 240
KMS_KEY_ARN = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
OBJECT_KEY = "smoke/deploy-smoke.txt"
OBJECT_BODY = b"written by tests/deploy: must survive cdk destroy\n"


def bucket_name(part: str, *, replica: bool = False) -> str:
    if replica:
        return f"{PREFIX}-{part}-dr-{ACCOUNT}-{REPLICA_REGION}"
    return f"{PREFIX}-{part}-{ACCOUNT}-{REGION}"


PRIMARY_BUCKETS = [bucket_name(p) for p in (*DATA_PARTS, LOG_PART)]
REPLICA_BUCKETS = [bucket_name(p, replica=True) for p in (*DATA_PARTS, LOG_PART)]
DATA_BUCKETS = {bucket_name(p): REGION for p in DATA_PARTS} | {
    bucket_name(p, replica=True): REPLICA_REGION for p in DATA_PARTS
}
LOG_BUCKETS = (bucket_name(LOG_PART), bucket_name(LOG_PART, replica=True))


def moto_gap(check: str, what: str) -> NoReturn:
    """Skip the current subtest: moto cannot show the resource state this check is about.

    The check's name is in the reason because pytest's summary labels every skipped subtest with the first one's."""
    pytest.skip(
        f"{check}: moto {moto.__version__}'s CloudFormation does not apply {what}; the deployed template "
        "declares it (asserted), the resulting resource state cannot be observed"
    )


@dataclass
class Assembly:
    outdir: Path
    stacks: dict[str, tuple[str, str]]  # display name -> (stack name, region)


@pytest.fixture(scope="module")
def dev_assembly(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """``cdk synth -c stages=dev`` with the pinned CLI into a temporary directory, once.

    The CLI talks to moto even here: before synth it asks STS for the default account, which must not leave the
    machine."""
    if not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists():
        pytest.fail("the pinned CDK CLI is missing (node_modules/.bin/cdk): run `make setup` (npm ci)")
    outdir = tmp_path_factory.mktemp("cdk.out")
    env = cli_environment(moto_server, REGION, tmp_path_factory.mktemp("aws-config"))
    result = run_cdk(
        ["synth", "-c", "stages=dev", "--output", str(outdir), "--quiet", "--no-notices", "--ci"],
        env=env,
        timeout_s=SYNTH_TIMEOUT_S,
    )
    assert result.returncode == 0, result.explain()
    manifest = json.loads((outdir / "assembly-Dev" / "manifest.json").read_text(encoding="utf-8"))
    stacks = {
        artifact["displayName"]: (artifact["properties"]["stackName"], artifact["environment"].rsplit("/", 1)[-1])
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    missing = set(DEPLOYED) - set(stacks)
    assert not missing, f"the dev assembly lacks {sorted(missing)}; it has {sorted(stacks)}"
    return Assembly(outdir=outdir, stacks=stacks)


@dataclass
class DeployedStack:
    display_name: str
    name: str
    region: str
    status: str
    termination_protection: bool
    template: dict[str, Any]
    resources: dict[str, tuple[str, str]] = field(default_factory=dict)  # logical ID -> (type, physical ID)

    def physical_ids(self, resource_type: str) -> dict[str, str]:
        return {logical: physical for logical, (rtype, physical) in self.resources.items() if rtype == resource_type}

    def properties(self, logical_id: str) -> dict[str, Any]:
        return dict(self.template["Resources"][logical_id].get("Properties", {}))


def read_deployed(moto_server: MotoServer, assembly: Assembly) -> dict[str, DeployedStack]:
    """What CloudFormation holds for each stack the deploy should have created (status ``MISSING`` if none)."""
    deployed: dict[str, DeployedStack] = {}
    for display_name in DEPLOYED:
        name, region = assembly.stacks[display_name]
        cfn = moto_server.client("cloudformation", region)
        try:
            (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
        except ClientError as error:
            if "does not exist" not in str(error):
                raise
            deployed[display_name] = DeployedStack(display_name, name, region, "MISSING", False, {"Resources": {}})
            continue
        template = cfn.get_template(StackName=name)["TemplateBody"]
        summaries = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        deployed[display_name] = DeployedStack(
            display_name=display_name,
            name=name,
            region=region,
            status=stack["StackStatus"],
            termination_protection=bool(stack.get("EnableTerminationProtection")),
            template=json.loads(template) if isinstance(template, str) else template,
            resources={
                s["LogicalResourceId"]: (s["ResourceType"], s["PhysicalResourceId"])
                for s in summaries
                if s["ResourceType"]  # moto also lists parameters and outputs, with an empty type
            },
        )
    return deployed


def bucket_templates(deployed: dict[str, DeployedStack]) -> dict[str, dict[str, Any]]:
    """Bucket name -> its properties in the template CloudFormation holds."""
    return {
        physical: stack.properties(logical)
        for stack in deployed.values()
        for logical, physical in stack.physical_ids("AWS::S3::Bucket").items()
    }


def stage_key_arns(moto_server: MotoServer) -> dict[str, str]:
    """Region -> ARN of the key the stage's alias names there (the platform key, the replica key)."""
    aliases = {REGION: f"alias/{PREFIX}", REPLICA_REGION: f"alias/{PREFIX}-dr"}
    return {
        region: moto_server.client("kms", region).describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
        for region, alias in aliases.items()
    }


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code"))


def check_sdk_flow(
    moto_server: MotoServer, outputs_file: Path, workdir: Path, key_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's SDK steps on the deployed stage: the CLI's outputs file -> ``mlops config export`` (and the same
    config from the stacks' exports) -> ``Session`` -> the adherence pipeline started, audited locally and in the
    stage's audit log group."""
    from typer.testing import CliRunner

    from mlops_sdk import admin
    from mlops_sdk.session import Session
    from pipeline_code.cli import create_app

    for name, value in {**CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": moto_server.endpoint}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(workdir / "no-aws-config"))  # no profile of the user applies
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(workdir / "no-aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    config_file = workdir / "dev.yaml"
    result = CliRunner().invoke(
        create_app(), ["config", "export", "--stage", "dev", "--outputs", str(outputs_file), "--out", str(config_file)]
    )
    assert result.exit_code == 0, result.output
    from_exports = admin.export(stage="dev", outputs_file=None, out=workdir / "from-exports.yaml", environ={})
    session = Session(stage="dev", config_path=config_file, environ={}, audit_path=workdir / "audit.jsonl")
    config = session.config
    assert from_exports.config == config  # both sources give the same config
    assert config.kms.key_arn == key_arn
    assert (config.s3.raw_bucket, config.s3.artifacts_bucket) == (bucket_name("raw"), bucket_name("artifacts"))
    iam = moto_server.client("iam", REGION)
    role_name = config.iam.execution_role_arn.rsplit("/", 1)[-1]
    assert iam.get_role(RoleName=role_name)["Role"]["Arn"] == config.iam.execution_role_arn
    assert config.audit.log_group == f"/{SETTINGS.project}/{SETTINGS.instance}/sdk-audit"

    # moto's CloudFormation skips SageMaker pipelines: create the one the platform's pipeline stack would.
    definition = {"Version": "2020-12-01", "Parameters": [{"Name": "InputDataUri", "Type": "String"}], "Steps": []}
    moto_server.client("sagemaker", REGION).create_pipeline(
        PipelineName=f"{PREFIX}-adherence",
        RoleArn=config.iam.execution_role_arn,
        PipelineDefinition=json.dumps(definition),
    )
    run = session.start_pipeline("adherence", {"InputDataUri": f"s3://{config.s3.raw_bucket}/diabetic_data.csv.gz"})
    assert session.pipeline_execution(run.arn)["PipelineExecutionArn"] == run.arn
    (line,) = [json.loads(x) for x in (workdir / "audit.jsonl").read_text().splitlines()]
    assert (line["operation"], line["result_arn"]) == ("sagemaker:StartPipelineExecution", run.arn)
    logs = moto_server.client("logs", REGION)
    streams = logs.describe_log_streams(logGroupName=config.audit.log_group)["logStreams"]
    (event,) = logs.get_log_events(logGroupName=config.audit.log_group, logStreamName=streams[0]["logStreamName"])[
        "events"
    ]
    assert json.loads(event["message"])["result_arn"] == run.arn


@pytest.fixture
def timings() -> Iterator[dict[str, float]]:
    steps: dict[str, float] = {}
    yield steps
    print("deploy smoke timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))


def test_dev_foundation_deploys_and_destroy_keeps_retained_data(
    moto_server: MotoServer,
    dev_assembly: Assembly,
    tmp_path: Path,
    subtests: pytest.Subtests,
    timings: dict[str, float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = cli_environment(moto_server, REGION, tmp_path)
    app = ["--app", str(dev_assembly.outdir)]
    quiet = ["--no-notices", "--ci"]

    # --- bootstrap and deploy -------------------------------------------------------------------------------
    result = run_cdk(
        ["bootstrap", f"aws://{ACCOUNT}/{REGION}", f"aws://{ACCOUNT}/{REPLICA_REGION}", *app, *quiet],
        env=env,
        timeout_s=BOOTSTRAP_TIMEOUT_S,
    )
    timings["bootstrap"] = result.seconds
    assert result.returncode == 0, result.explain(moto_server)

    outputs_file = tmp_path / "outputs.json"
    result = run_cdk(
        [
            "deploy",
            *TO_DEPLOY,
            *app,
            "--require-approval",
            "never",
            "--method=direct",
            "--outputs-file",
            str(outputs_file),
            *quiet,
        ],
        env=env,
        timeout_s=DEPLOY_TIMEOUT_S,
    )
    timings["deploy"] = result.seconds
    assert result.returncode == 0, result.explain(moto_server)
    deploy_log = result.explain(moto_server)

    started = time.monotonic()
    deployed = read_deployed(moto_server, dev_assembly)
    # Everything below needs all four stacks: Guardrails and DataReplica come in as declared dependencies only.
    statuses = {name: (stack.status, stack.region) for name, stack in deployed.items()}
    assert statuses == {
        "Dev/Guardrails": ("CREATE_COMPLETE", REGION),
        "Dev/DataReplica": ("CREATE_COMPLETE", REPLICA_REGION),
        "Dev/DataFoundation": ("CREATE_COMPLETE", REGION),
        "Dev/Identity": ("CREATE_COMPLETE", REGION),
    }, f"{statuses}\n{deploy_log}"
    templates = bucket_templates(deployed)
    key_arns = stage_key_arns(moto_server)
    key_ids: dict[str, str] = {}  # region -> ID of the stage's key there
    for region, display_name in ((REGION, "Dev/DataFoundation"), (REPLICA_REGION, "Dev/DataReplica")):
        keys = list(deployed[display_name].physical_ids("AWS::KMS::Key").values())
        assert len(keys) == 1, (display_name, keys)
        key_ids[region] = keys[0]
    retention = {  # physical ID -> (DeletionPolicy, UpdateReplacePolicy) as deployed, for buckets and keys
        physical: (
            stack.template["Resources"][logical].get("DeletionPolicy"),
            stack.template["Resources"][logical].get("UpdateReplacePolicy"),
        )
        for stack in deployed.values()
        for rtype in ("AWS::S3::Bucket", "AWS::KMS::Key")
        for logical, physical in stack.physical_ids(rtype).items()
    }
    s3 = moto_server.client("s3", REGION)
    iam = moto_server.client("iam", REGION)

    with subtests.test("stateful stacks are termination-protected"):
        protection = {name: stack.termination_protection for name, stack in deployed.items()}
        assert protection == {name: name in TERMINATION_PROTECTED for name in DEPLOYED}

    with subtests.test("6 primary and 6 replica buckets, each in its region"):
        assert set(deployed["Dev/DataFoundation"].physical_ids("AWS::S3::Bucket").values()) == set(PRIMARY_BUCKETS)
        assert set(deployed["Dev/DataReplica"].physical_ids("AWS::S3::Bucket").values()) == set(REPLICA_BUCKETS)
        existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert set(PRIMARY_BUCKETS + REPLICA_BUCKETS) <= existing
        for name in PRIMARY_BUCKETS + REPLICA_BUCKETS:
            location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
            assert location == (REPLICA_REGION if name in REPLICA_BUCKETS else REGION), name

    with subtests.test("data buckets default to SSE-KMS with the stage key of their region"):
        assert all(KMS_KEY_ARN.match(arn) for arn in key_arns.values()), key_arns
        for name, region in DATA_BUCKETS.items():
            (rule,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            default = rule["ApplyServerSideEncryptionByDefault"]
            assert default["SSEAlgorithm"] == "aws:kms", (name, rule)
            assert default.get("KMSMasterKeyID") == key_arns[region], (name, rule, key_arns)
        for name in LOG_BUCKETS:  # S3 cannot deliver access logs to an SSE-KMS bucket
            (rule,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", (name, rule)

    with subtests.test("data buckets use S3 bucket keys"):
        for name in DATA_BUCKETS:
            (declared,) = templates[name]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            assert declared.get("BucketKeyEnabled") is True, (name, declared)
        observed = {
            name: s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0].get(
                "BucketKeyEnabled"
            )
            for name in DATA_BUCKETS
        }
        if not any(observed.values()):
            moto_gap("bucket keys", "BucketKeyEnabled (every bucket reports false)")
        assert all(observed.values()), observed

    with subtests.test("every bucket is versioned"):
        for name in PRIMARY_BUCKETS + REPLICA_BUCKETS:
            assert templates[name].get("VersioningConfiguration") == {"Status": "Enabled"}, name
        observed_versioning = {
            name: s3.get_bucket_versioning(Bucket=name).get("Status") for name in PRIMARY_BUCKETS + REPLICA_BUCKETS
        }
        if not any(observed_versioning.values()):
            moto_gap("versioning", "VersioningConfiguration (no bucket reports a versioning status)")
        assert set(observed_versioning.values()) == {"Enabled"}, observed_versioning

    with subtests.test("stage keys: customer-managed, enabled, rotated, cost-tagged"):
        for region, key_id in key_ids.items():
            kms = moto_server.client("kms", region)
            assert key_arns[region].endswith(f"/{key_id}"), (key_arns, key_id)  # the alias names the stack's key
            metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            assert (metadata["KeyState"], metadata["KeyManager"], metadata["Enabled"]) == (
                "Enabled",
                "CUSTOMER",
                True,
            )
            assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
            tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
            assert SETTINGS.cost_tags.items() <= tags.items(), tags
        for display_name in ("Dev/DataFoundation", "Dev/DataReplica"):
            stack = deployed[display_name]
            for logical in stack.physical_ids("AWS::KMS::Key"):
                assert stack.properties(logical).get("RotationPeriodInDays") == 365, (display_name, logical)

    with subtests.test("stage keys rotate yearly"):
        periods = {
            region: moto_server.client("kms", region).get_key_rotation_status(KeyId=key_id).get("RotationPeriodInDays")
            for region, key_id in key_ids.items()
        }
        if not any(periods.values()):
            moto_gap("key rotation period", "RotationPeriodInDays (no key reports a rotation period)")
        assert set(periods.values()) == {365}, periods

    role_names = {
        logical: physical
        for name in ("Dev/DataFoundation", "Dev/Identity")
        for logical, physical in deployed[name].physical_ids("AWS::IAM::Role").items()
    }
    with subtests.test(f"roles live under {ROLE_PATH} and carry the permissions boundary"):
        for prefix in (*IDENTITY_ROLES, "ReplicationRole"):
            assert any(logical.startswith(prefix) for logical in role_names), (prefix, sorted(role_names))
        assert len(role_names) == len(IDENTITY_ROLES) + 1, sorted(role_names)
        listed = {r["RoleName"] for r in iam.list_roles(PathPrefix=ROLE_PATH)["Roles"]}
        assert listed == set(role_names.values()), (listed, role_names)
        for role_name in role_names.values():
            role = iam.get_role(RoleName=role_name)["Role"]
            assert role["Path"] == ROLE_PATH, role
            assert role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == BOUNDARY_ARN, role
            assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"], role_name
        assert iam.get_policy(PolicyArn=BOUNDARY_ARN)["Policy"]["Path"] == ROLE_PATH

    with subtests.test("README: outputs file -> mlops config export -> Session -> adherence pipeline started"):
        check_sdk_flow(moto_server, outputs_file, tmp_path / "sdk", key_arns[REGION], monkeypatch)

    # --- data that must survive the destroy ---------------------------------------------------------------------
    raw_bucket = bucket_name("raw")
    put = s3.put_object(Bucket=raw_bucket, Key=OBJECT_KEY, Body=OBJECT_BODY)  # no SSE header: the bucket default
    with subtests.test("an object put without encryption headers is SSE-KMS with the platform key"):
        head = s3.head_object(Bucket=raw_bucket, Key=OBJECT_KEY)
        for response in (put, head):
            assert response.get("ServerSideEncryption") == "aws:kms", response
            assert response.get("SSEKMSKeyId") == key_arns[REGION], response
    # What must survive, by identity: a bucket re-created after its deletion has a later creation date (moto keeps
    # seconds, so this catches a re-creation in a later second only; the shim also stops moto re-creating any).
    created = {b["Name"]: b["CreationDate"] for b in s3.list_buckets()["Buckets"]}
    managed_policies = [
        physical for stack in deployed.values() for physical in stack.physical_ids("AWS::IAM::ManagedPolicy").values()
    ]
    timings["checks"] = time.monotonic() - started

    # --- destroy --------------------------------------------------------------------------------------------
    # On AWS the two termination-protected stacks refuse this until protection is turned off (see the docstring).
    result = run_cdk(
        ["destroy", *DEPLOYED, "--exclusively", "--force", *app, *quiet], env=env, timeout_s=DESTROY_TIMEOUT_S
    )
    timings["destroy"] = result.seconds
    assert result.returncode == 0, result.explain(moto_server)
    destroy_log = result.explain(moto_server)

    with subtests.test("the stacks are gone"):
        for stack in deployed.values():
            with pytest.raises(ClientError, match="does not exist"):
                moto_server.client("cloudformation", stack.region).describe_stacks(StackName=stack.name)

    with subtests.test("resources without RETAIN are deleted: roles, managed policies"):
        assert iam.list_roles(PathPrefix=ROLE_PATH)["Roles"] == [], destroy_log
        for arn in managed_policies:
            with pytest.raises(ClientError) as raised:
                iam.get_policy(PolicyArn=arn)
            assert error_code(raised.value) == "NoSuchEntity", arn

    with subtests.test("RETAIN buckets survive, the same buckets, with their data"):
        after = {b["Name"]: b["CreationDate"] for b in s3.list_buckets()["Buckets"]}
        lost = sorted(set(PRIMARY_BUCKETS + REPLICA_BUCKETS) - set(after))
        assert not lost, f"deleted by cdk destroy: {lost}\n{destroy_log}"
        assert {n: after[n] for n in PRIMARY_BUCKETS + REPLICA_BUCKETS} == {
            n: created[n] for n in PRIMARY_BUCKETS + REPLICA_BUCKETS
        }, "a bucket was re-created"
        kept = s3.get_object(Bucket=raw_bucket, Key=OBJECT_KEY)
        assert kept["Body"].read() == OBJECT_BODY
        assert (kept.get("ServerSideEncryption"), kept.get("SSEKMSKeyId")) == ("aws:kms", key_arns[REGION])
        # moto never deletes a non-empty bucket (AWS fails the stack deletion instead), so above only the empty
        # buckets prove RETAIN; the policies every bucket was deployed with prove it for the raw-data bucket too.
        for name in PRIMARY_BUCKETS + REPLICA_BUCKETS:
            assert retention[name] == ("Retain", "Retain"), (name, retention[name])

    with subtests.test("RETAIN keys survive, enabled"):
        for region, key_id in key_ids.items():
            try:
                metadata = moto_server.client("kms", region).describe_key(KeyId=key_id)["KeyMetadata"]
            except ClientError as error:
                pytest.fail(f"key {key_id} ({region}): {error_code(error)} after cdk destroy\n{destroy_log}")
            assert metadata["KeyState"] == "Enabled", metadata
            assert retention[key_id] == ("Retain", "Retain"), (key_id, retention[key_id])
