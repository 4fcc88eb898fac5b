"""The project's own tooling: the pinned install is what constraints.txt says, uv gets pip's sources, and the type
check follows every aws_cdk module the code imports."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from scripts import setup_env

ROOT = Path(__file__).resolve().parents[1]
TYPE_CHECKED = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]["files"]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, _, version = line.partition("==")
            pins[_canonical(name)] = version.strip()
    return pins


def test_every_installed_distribution_is_pinned_in_constraints_at_its_version():
    """What `make setup` installed (uv or pip) is exactly the frozen set: nothing unpinned, nothing drifted."""
    pins = _pins(ROOT / "constraints.txt")
    installed = {
        _canonical(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"] and _canonical(dist.metadata["Name"]) not in {"mlops-platform", "pip"}
    }
    unpinned = sorted(set(installed) - set(pins))
    assert not unpinned, f"installed but not in constraints.txt: {unpinned}"
    drifted = {name: (installed[name], pins[name]) for name in installed if installed[name] != pins[name]}
    assert not drifted, f"installed version != pinned version: {drifted}"


def test_every_direct_requirement_is_pinned_exactly_and_agrees_with_constraints():
    pins = _pins(ROOT / "constraints.txt")
    for name in ("requirements.txt", "requirements-pipeline.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-r"):
                continue
            assert "==" in line, f"{name}: {line!r} is not pinned with =="
            package, _, version = line.partition("==")
            package = package.split("[", 1)[0]
            assert pins.get(_canonical(package)) == version, f"{name}: {line} disagrees with constraints.txt"


def test_pip_configuration_is_handed_to_uv():
    listing = "\n".join(
        [
            "global.index-url='https://mirror.example/simple'",
            "global.extra-index-url='file:///opt/a/simple file:///opt/b/simple'",
            "global.find-links='/opt/wheels'",
            "global.constraint='/etc/pip/constraints.txt'",
            "global.timeout='60'",
            "user.index-url='ignored: not a pip config level uv mirrors'",
        ]
    )
    settings = setup_env.parse_pip_config(listing, {"PIP_FIND_LINKS": "/srv/wheels"})
    assert settings == {
        "index-url": "https://mirror.example/simple",
        "extra-index-url": "file:///opt/a/simple file:///opt/b/simple",
        "find-links": "/srv/wheels",  # PIP_* variables win over files, as in pip
        "constraint": "/etc/pip/constraints.txt",
    }
    env = setup_env.uv_environment(settings)
    assert env["UV_DEFAULT_INDEX"] == "https://mirror.example/simple"
    assert env["UV_INDEX"] == "file:///opt/a/simple file:///opt/b/simple"
    assert env["UV_FIND_LINKS"] == "/srv/wheels"
    assert env["UV_CONSTRAINT"] == "/etc/pip/constraints.txt"
    assert env["UV_INDEX_STRATEGY"] == "unsafe-best-match"  # pip's behaviour across several sources
    assert env["UV_PYTHON_DOWNLOADS"] == "never"


def test_no_pip_configuration_leaves_uv_on_its_defaults():
    env = setup_env.uv_environment(setup_env.parse_pip_config("", {}))
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX", "UV_FIND_LINKS", "UV_CONSTRAINT"):
        assert env.get(name) == setup_env.os.environ.get(name)


def _aws_cdk_modules_imported() -> dict[str, str]:
    """aws_cdk submodule -> first file importing it, over everything `make typecheck` checks."""
    found: dict[str, str] = {}
    files = [ROOT / d for d in TYPE_CHECKED if d.endswith(".py")]
    files += [p for d in TYPE_CHECKED if not d.endswith(".py") for p in sorted((ROOT / d).rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
                if node.module == "aws_cdk":
                    names += [f"aws_cdk.{alias.name}" for alias in node.names]
            for name in names:
                if name.startswith("aws_cdk") and importlib.util.find_spec(name) is not None:
                    found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def test_the_type_check_follows_every_aws_cdk_module_the_code_imports():
    """pyproject.toml skips aws_cdk's unused service modules (the cold check's cost); every used one is analysed."""
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]["overrides"]
    followed = {m for o in overrides if o.get("follow_imports") == "normal" for m in o["module"]}
    assert any(o.get("follow_imports") == "skip" and "aws_cdk.*" in o["module"] for o in overrides)
    missing = {module: where for module, where in _aws_cdk_modules_imported().items() if module not in followed}
    assert not missing, f"add these to the followed aws_cdk modules in pyproject.toml: {missing}"


@pytest.mark.parametrize("module", ["aws_cdk", "aws_cdk.aws_s3", "aws_cdk.aws_iam"])
def test_the_followed_list_is_real(module):
    assert importlib.util.find_spec(module) is not None
