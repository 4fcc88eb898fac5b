"""The adherence model: 30-day readmission risk of diabetic inpatients, one folder per pipeline step.

Kept import-light on purpose: a step's SageMaker code asset holds its own folder plus ``pipeline_code.common``, so
nothing here may pull in the DAG layer or another step. The step specifications live in :mod:`.specs`.
"""
