"""The adherence split step: pure functions beside a thin ``main.run(ctx)``."""
