"""Deploy smoke test: the dev stage deployed and destroyed by the pinned CDK CLI on a local moto server."""
