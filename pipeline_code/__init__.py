"""Code that runs inside the platform: pipeline steps, the DAG engine and the `mlops` CLI.

Nothing here imports aws_cdk or stacks: it runs in SageMaker containers, Lambdas and on edge devices.
"""
