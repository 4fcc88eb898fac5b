"""The adherence evaluate step: pure functions beside a thin ``main.run(ctx)``."""
