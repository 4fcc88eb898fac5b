"""A registry of step specifications, one per pipeline.

Models register their specifications here instead of the DAG layer knowing them. There is deliberately no
module-level default registry: every pipeline (and every test) builds its own, so registrations cannot leak from
one pipeline into another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pipeline_code.dag.errors import DuplicateSpecError, SpecValidationError, UnknownStepError
from pipeline_code.dag.spec import PipelineDefinition, StepSpecification

# Step types and logical names become folder names (step dirs, container channels) and SageMaker step or channel
# names, so they are kept to a portable character set.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
# Entry points are dotted module paths.
ENTRY_POINT_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def validate_spec(spec: StepSpecification) -> None:
    """Check that a specification can be wired and run; raise SpecValidationError naming the field at fault."""
    if not NAME_PATTERN.match(spec.step_type):
        raise SpecValidationError(
            f"step type {spec.step_type!r} must start with a letter and contain only letters, digits, '_' or '-'"
        )
    if not ENTRY_POINT_PATTERN.match(spec.entry_point):
        raise SpecValidationError(
            f"step {spec.step_type!r}: entry_point {spec.entry_point!r} is not a dotted module path"
        )
    for kind, names in (
        ("dependency", [dep.logical_name for dep in spec.dependencies]),
        ("output", [out.logical_name for out in spec.outputs]),
    ):
        seen: set[str] = set()
        for name in names:
            if not NAME_PATTERN.match(name):
                raise SpecValidationError(
                    f"step {spec.step_type!r}: {kind} name {name!r} must start with a letter and contain only "
                    "letters, digits, '_' or '-'"
                )
            if name in seen:
                raise SpecValidationError(f"step {spec.step_type!r} declares {kind} {name!r} twice")
            seen.add(name)


class SpecRegistry:
    """Step specifications of one pipeline, looked up by step type.

    Registering validates the specification and refuses a second specification with the same step type, so a
    copy-paste slip in a model's spec module fails at import rather than silently shadowing a step.
    """

    def __init__(self, specs: Iterable[StepSpecification] = ()) -> None:
        self._specs: dict[str, StepSpecification] = {}
        for spec in specs:
            self.register(spec)

    @classmethod
    def from_definition(cls, definition: PipelineDefinition) -> SpecRegistry:
        """A fresh registry holding the steps of ``definition``."""
        return cls(definition.specs)

    def register(self, spec: StepSpecification) -> StepSpecification:
        """Add ``spec``; returns it so it can be used as ``SPEC = registry.register(StepSpecification(...))``."""
        validate_spec(spec)
        if spec.step_type in self._specs:
            raise DuplicateSpecError(f"step type {spec.step_type!r} is already registered")
        self._specs[spec.step_type] = spec
        return spec

    def get(self, step_type: str) -> StepSpecification:
        """The specification of ``step_type``; UnknownStepError lists the registered types otherwise."""
        try:
            return self._specs[step_type]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise UnknownStepError(f"no step type {step_type!r} is registered (registered: {known})") from None

    def __contains__(self, step_type: object) -> bool:
        return step_type in self._specs

    def __iter__(self) -> Iterator[StepSpecification]:
        """Specifications in step-type order, so that everything built on a registry is deterministic."""
        return iter(self._specs[name] for name in sorted(self._specs))

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def step_types(self) -> tuple[str, ...]:
        return tuple(sorted(self._specs))
