"""Default parameters of the intent export step."""

DEFAULTS = {
    "opset": 17,
    "fuse": True,  # ONNX Runtime BERT fusions before quantization (fewer, faster nodes; same outputs)
    "parity_rows": 256,  # validation rows on which ONNX fp32 must match PyTorch
    "parity_tolerance": 1e-3,  # max |logit difference| allowed (logits are cosine x scale, |logit| <= scale)
}
