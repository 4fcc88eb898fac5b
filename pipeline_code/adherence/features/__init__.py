"""The adherence features step: pure functions beside a thin ``main.run(ctx)``."""
