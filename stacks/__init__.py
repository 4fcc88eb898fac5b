"""CDK stacks of the MLOps platform. Stacks compose; reusable constructs live in ``stacks.constructs``."""
