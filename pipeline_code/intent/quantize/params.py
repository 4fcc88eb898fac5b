"""Default parameters of the intent quantize step."""

DEFAULTS = {
    # Dynamic int8 variants tried; the one with the highest validation accuracy is kept (ties: the first listed).
    # "tensor": one scale per weight tensor; "channel": one scale per output channel (finer, same size).
    "variants": "tensor,channel",
    "validation_rows": 0,  # 0: all validation rows decide the variant
}
