"""Drift of a batch against a baseline of the training data, driven by a data contract.

``baseline``: profile a contract-shaped raw frame into a drift baseline (quantile bins, level shares, missing
rates) and the Model Monitor ``statistics.json`` / ``constraints.json`` of the same data.
``check``: encode a batch against a baseline and decide drift (PSI, completeness, type and unseen-value checks,
prediction drift), in a report whose violations use Model Monitor's check names.
Any model with a :class:`~pipeline_code.common.contracts.schema.Column` contract can use it.
"""
