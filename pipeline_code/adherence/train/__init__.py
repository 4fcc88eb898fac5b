"""The adherence train step: pure functions beside a thin ``main.run(ctx)``."""
