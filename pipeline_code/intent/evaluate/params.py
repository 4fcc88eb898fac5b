"""Default parameters of the intent evaluate step."""

DEFAULTS = {
    "latency_utterances": 200,  # single utterances timed per back end and thread count (after warm-up)
    "latency_warmup": 20,
    "latency_threads": "1,2",
    "pytorch_baseline": True,  # time PyTorch fp32 on the same utterances (the reference of the latency goal)
    "reliability_bins": 10,
    "confusion_pairs": 20,
}
