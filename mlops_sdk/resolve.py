"""One resolver for every parameter: runtime arguments > environment variables > admin config > built-in defaults.

A parameter is a leaf of :class:`~mlops_sdk.config.PlatformConfig` named by its dotted path (``training.instance_type``,
``s3.raw_bucket``, ``pipelines``). Its environment variable is ``MLOPS_`` + the path in capitals with ``__`` between
levels (``MLOPS_TRAINING__INSTANCE_TYPE``); lists are comma-separated, maps are JSON. The resolver takes each leaf
from the highest layer that sets it, validates the result as a whole, and remembers where every value came from
(``mlops config show --explain``). An invalid value is reported with its parameter *and* the layer that set it.
"""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from mlops_sdk.config import PlatformConfig
from mlops_sdk.errors import ConfigError

Layer = Literal["runtime", "environment", "admin config", "built-in default"]
LAYERS: tuple[Layer, ...] = ("runtime", "environment", "admin config", "built-in default")
ENV_PREFIX = "MLOPS_"
_MISSING: Any = object()


@dataclass(frozen=True)
class Leaf:
    path: str
    annotation: Any
    default: Any  # _MISSING when the parameter has no built-in default

    @property
    def env_var(self) -> str:
        return env_var(self.path)

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING


@dataclass(frozen=True)
class Origin:
    layer: Layer
    detail: str  # the variable, the file, "Session(...)" or "PlatformConfig"


@dataclass(frozen=True)
class Resolved:
    config: PlatformConfig
    origins: dict[str, Origin]

    def explain(self) -> list[tuple[str, Any, Origin]]:
        """(path, value, origin) of every parameter, in schema order."""
        flat = dict(_flatten(self.config.model_dump(mode="json")))
        return [
            (leaf.path, flat.get(leaf.path), self.origins[leaf.path]) for leaf in LEAVES if leaf.path in self.origins
        ]


def env_var(path: str) -> str:
    return ENV_PREFIX + path.upper().replace(".", "__")


def _model_class(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _leaves(model: type[BaseModel], default_obj: BaseModel | None, prefix: str) -> Iterator[Leaf]:
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        sub = _model_class(field.annotation)
        if default_obj is not None:
            default = getattr(default_obj, name)
        elif field.is_required():
            default = _MISSING
        else:
            default = field.get_default(call_default_factory=True)
        if sub is not None:
            yield from _leaves(sub, default if isinstance(default, BaseModel) else None, f"{path}.")
        else:
            yield Leaf(path, field.annotation, default)


LEAVES: tuple[Leaf, ...] = tuple(_leaves(PlatformConfig, None, ""))
"""Every parameter of the platform config, in schema order."""
BY_PATH = {leaf.path: leaf for leaf in LEAVES}
BY_ENV = {leaf.env_var: leaf for leaf in LEAVES}
_SECTIONS = {leaf.path.split(".")[0].upper() for leaf in LEAVES}


def builtin_defaults() -> dict[str, Any]:
    return {leaf.path: leaf.default for leaf in LEAVES if leaf.has_default}


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaf paths of a nested mapping; stops at the schema's leaves, so map-valued parameters stay whole."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if path in BY_PATH or not isinstance(value, Mapping):
            yield path, value
        else:
            yield from _flatten(value, f"{path}.")


def _unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, last = path.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _kind(annotation: Any) -> str:
    """'list', 'map' or 'scalar': how an environment value of the parameter is parsed."""
    args = [a for a in get_args(annotation) if a is not type(None)] if _is_union(annotation) else [annotation]
    origins = {get_origin(a) for a in args}
    if tuple in origins or list in origins:
        return "list"
    if dict in origins:
        return "map"
    return "scalar"


def parse_env_value(leaf: Leaf, raw: str) -> Any:
    """An environment string as the parameter's shape: comma-separated list, JSON map, or the string itself
    (pydantic then converts numbers and booleans, and rejects what does not fit, naming the variable)."""
    kind = _kind(leaf.annotation)
    if kind == "list":
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if kind == "map":
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{leaf.env_var}: not a JSON object ({exc.msg} at character {exc.pos})") from None
        if not isinstance(value, dict):
            raise ConfigError(f'{leaf.env_var}: must be a JSON object such as {{"name": "value"}}')
        return value
    if raw == "" and leaf.has_default and leaf.default is None:
        return None  # an empty variable clears an optional parameter
    return raw


def environment_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """Parameters set by ``MLOPS_*`` variables. A variable in a config section that names no parameter is an
    error with the closest names (a typo must not be ignored); variables outside the sections are not ours."""
    found: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        leaf = BY_ENV.get(name)
        if leaf is None:
            section = name[len(ENV_PREFIX) :].split("__")[0]
            if section in _SECTIONS and "__" in name[len(ENV_PREFIX) :]:
                close = difflib.get_close_matches(name, list(BY_ENV), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ConfigError(f"environment variable {name} names no platform parameter{hint}")
            continue
        found[leaf.path] = parse_env_value(leaf, raw)
    return found


def _check_paths(values: Mapping[str, Any], layer: str) -> None:
    unknown = sorted(set(values) - set(BY_PATH))
    if unknown:
        hints = []
        for path in unknown:
            close = difflib.get_close_matches(path, list(BY_PATH), n=1)
            hints.append(f"{path}" + (f" (did you mean {close[0]}?)" if close else ""))
        raise ConfigError(f"{layer}: unknown parameter(s): {', '.join(hints)}")


def resolve(
    *,
    runtime: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    admin: Mapping[str, Any] | None = None,
    admin_source: str = "admin config",
) -> Resolved:
    """Merge the four layers leaf by leaf and validate the result.

    ``runtime`` maps dotted paths to values (None means "not given"); ``admin`` is the nested mapping of a config
    file. ConfigError names every invalid parameter with the layer (and variable or file) that set it.
    """
    runtime_flat = {k: v for k, v in (runtime or {}).items() if v is not None}
    _check_paths(runtime_flat, "runtime arguments")
    for path, value in runtime_flat.items():
        if isinstance(value, str) and _kind(BY_PATH[path].annotation) != "scalar":
            runtime_flat[path] = parse_env_value(BY_PATH[path], value)  # `--set network.subnet_ids=a,b`
    env_flat = environment_layer(environ or {})
    admin_flat = dict(_flatten(admin or {}))
    _check_paths(admin_flat, admin_source)

    merged: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    for leaf in LEAVES:
        path = leaf.path
        if path in runtime_flat:
            merged[path], origins[path] = runtime_flat[path], Origin("runtime", "Session / command-line argument")
        elif path in env_flat:
            merged[path], origins[path] = env_flat[path], Origin("environment", leaf.env_var)
        elif path in admin_flat:
            merged[path], origins[path] = admin_flat[path], Origin("admin config", admin_source)
        elif leaf.has_default:
            merged[path], origins[path] = leaf.default, Origin("built-in default", "PlatformConfig")
    try:
        config = PlatformConfig.model_validate(_unflatten(_jsonable(merged)))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origins)) from None
    return Resolved(config=config, origins=origins)


def _jsonable(flat: dict[str, Any]) -> dict[str, Any]:
    # Default instances (tuples, dicts) are passed as plain data so that validation treats every layer alike.
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in flat.items()}


def _describe(exc: ValidationError, origins: Mapping[str, Origin]) -> str:
    lines = [f"invalid platform config: {exc.error_count()} problem(s)"]
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        path = ".".join(loc)
        # The parameter is the longest known prefix of the location (a list item or a model-level check).
        param = next((".".join(loc[:i]) for i in range(len(loc), 0, -1) if ".".join(loc[:i]) in BY_PATH), path)
        origin = origins.get(param)
        if error["type"] == "missing":
            where = f"set it in the admin config (mlops config export) or {env_var(param)}"
            lines.append(f"  - {path}: required, no layer sets it; {where}")
            continue
        source = f" [from {origin.layer}: {origin.detail}]" if origin else ""
        lines.append(f"  - {path or '(config)'}: {error['msg']}{source}")
    return "\n".join(lines)
