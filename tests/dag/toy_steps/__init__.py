"""Tiny stdlib-only pipeline steps for the DAG and CLI tests.

They follow the real step contract (``run(ctx: StepContext) -> dict``), import nothing but their own package and
``pipeline_code.common``, and import each other only relatively, so the package can be copied under another name
to test that a change of step code invalidates the cache.
"""
