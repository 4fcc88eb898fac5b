"""The adherence validate step: pure functions beside a thin ``main.run(ctx)``."""
