"""``python -m pipeline_code.cli``: the same as the ``mlops`` script."""

from pipeline_code.cli import app

app()
