"""The adherence predict step: pure functions beside a thin ``main.run(ctx)``."""
