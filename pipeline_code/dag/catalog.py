"""A catalog of pipelines by name, each a dotted path to a model package's PipelineDefinition.

The DAG layer knows no model; the catalog only holds strings and imports a definition when asked, so listing the
catalog or running one pipeline never imports another model's (possibly heavy or broken) code.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline_code.dag.spec import PipelineDefinition


class CatalogError(Exception):
    """A pipeline name is unknown, or its definition (or batch predictor) cannot be imported."""


def load_object(dotted: str) -> Any:
    """Import ``package.module:attribute`` or ``package.module.attribute`` and return the attribute.

    The colon form is unambiguous; the dotted form takes the last component as the attribute.
    """
    if ":" in dotted:
        module_name, _, attribute = dotted.partition(":")
    else:
        module_name, _, attribute = dotted.rpartition(".")
    if not module_name or not attribute:
        raise CatalogError(f"{dotted!r} is not a dotted path of the form 'package.module:attribute'")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # an import can fail in any way (SyntaxError, a spec error at import time...)
        raise CatalogError(f"cannot import {module_name!r} (from {dotted!r}): {type(exc).__name__}: {exc}") from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise CatalogError(f"{module_name!r} has no attribute {attribute!r} (from {dotted!r})") from None
    return target


@dataclass(frozen=True)
class CatalogEntry:
    """One pipeline: its CLI name, where its definition lives, and the data it runs on by default.

    ``default_data`` is relative to the project root (the repository), never to the current directory.
    """

    name: str
    definition: str
    default_data: str = ""
    description: str = ""


class PipelineCatalog:
    """Pipelines known to the CLI. Build one per app (tests build their own), no global registration."""

    def __init__(self, entries: Iterable[CatalogEntry] = ()) -> None:
        self._entries: dict[str, CatalogEntry] = {}
        for entry in entries:
            if entry.name in self._entries:
                raise CatalogError(f"pipeline {entry.name!r} is listed twice in the catalog")
            self._entries[entry.name] = entry
        self._loaded: dict[str, PipelineDefinition] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    def get(self, name: str) -> CatalogEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise CatalogError(f"unknown pipeline {name!r} (known: {', '.join(self.names) or 'none'})") from None

    def load(self, name: str) -> PipelineDefinition:
        """Import the definition of ``name`` (once per catalog) and check that it is a PipelineDefinition."""
        if name not in self._loaded:
            entry = self.get(name)
            definition = load_object(entry.definition)
            if not isinstance(definition, PipelineDefinition):
                raise CatalogError(f"{entry.definition!r} is a {type(definition).__name__}, not a PipelineDefinition")
            self._loaded[name] = definition
        return self._loaded[name]
