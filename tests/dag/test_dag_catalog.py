"""Pipeline catalog: lazy loading by dotted path, both spellings, clear errors."""

from __future__ import annotations

import pytest

from pipeline_code.dag.catalog import CatalogEntry, CatalogError, PipelineCatalog, load_object
from pipeline_code.dag.spec import PipelineDefinition
from tests.dag.toy_steps.predict import batch_predict


def test_load_object_accepts_colon_and_dot_forms() -> None:
    assert load_object("tests.dag.toy_steps.predict:batch_predict") is batch_predict
    assert load_object("tests.dag.toy_steps.predict.batch_predict") is batch_predict
    assert load_object("os.path:join.__name__") == "join"  # nested attribute after the colon


@pytest.mark.parametrize(
    ("dotted", "message"),
    [
        ("nodots", "not a dotted path"),
        ("tests.dag.toy_steps.nope:thing", "cannot import 'tests.dag.toy_steps.nope'.*ModuleNotFoundError"),
        ("tests.dag.toy_steps.predict:nope", "has no attribute 'nope'"),
    ],
)
def test_load_object_errors(dotted: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_object(dotted)


def test_catalog_loads_lazily_and_checks_the_type() -> None:
    catalog = PipelineCatalog(
        [
            CatalogEntry("toy", "tests.dag.toy_steps.pipeline:DEFINITION"),
            CatalogEntry("wrong", "tests.dag.toy_steps.predict:batch_predict"),
        ]
    )
    assert catalog.names == ("toy", "wrong")
    assert isinstance(catalog.load("toy"), PipelineDefinition)
    assert catalog.load("toy") is catalog.load("toy")
    with pytest.raises(CatalogError, match="is a function, not a PipelineDefinition"):
        catalog.load("wrong")
    with pytest.raises(CatalogError, match=r"unknown pipeline 'x' \(known: toy, wrong\)"):
        catalog.get("x")


def test_duplicate_catalog_names_are_rejected() -> None:
    entry = CatalogEntry("toy", "tests.dag.toy_steps.pipeline:DEFINITION")
    with pytest.raises(CatalogError, match="listed twice"):
        PipelineCatalog([entry, entry])
