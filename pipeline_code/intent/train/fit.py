"""Fine-tuning: tokenise once, length-bucketed batches with dynamic padding, AdamW with warm-up and linear decay.

Speed on a 2-core CPU comes from not computing on padding: utterances are short (CLINC150 ~ 12 tokens), so each batch
is padded only to its own longest row, and rows of similar length are batched together (sorted within shuffled pools
of ``pool_batches`` batches), which keeps padding near zero while the order stays random from epoch to epoch.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from torch.nn import functional as F

from pipeline_code.intent.train.model import IntentClassifier, load_encoder


@dataclass(frozen=True)
class FitSettings:
    """Hyperparameters of one fine-tuning run (chosen on validation data; see the train step's params)."""

    epochs: float = 4.0
    batch_size: int = 32
    learning_rate: float = 1e-4
    head_learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    scale: float = 20.0
    dropout: float = 0.1
    label_smoothing: float = 0.0
    max_length: int = 64
    max_steps: int = 0  # > 0 stops early (unit tests, quick mode)
    pool_batches: int = 50
    init_rows_per_class: int = 20
    freeze_word_embeddings: bool = True
    seed: int = 13
    threads: int = 0  # 0: every CPU this process may run on (see cpu_threads)
    device: str = "auto"  # "auto": a GPU where the training instance has one (SageMaker GPU types), else the CPU


def load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    """The fast tokenizer of ``tokenizer.json``, truncating at ``max_length`` and padding nothing."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def encode(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    return [enc.ids for enc in tokenizer.encode_batch(list(texts))]


MAX_LENGTH_CAP = 128


def fit_max_length(
    lengths: Sequence[int], *, quantile: float = 0.999, cap: int = MAX_LENGTH_CAP, floor: int = 16
) -> int:
    """A sequence cap that truncates at most 0.1 % of training rows (multiple of 8, within [floor, cap])."""
    if not lengths:
        return floor
    value = int(np.quantile(np.asarray(lengths), quantile))
    return int(min(cap, max(floor, math.ceil(value / 8) * 8)))


def fitted_tokenizer(path: Path, texts: Sequence[str], max_length: int = 0) -> tuple[Tokenizer, int]:
    """The tokenizer of ``path`` truncating at ``max_length``, or, when that is 0, at the cap fitted to ``texts``
    (:func:`fit_max_length`); and that length."""
    if max_length <= 0:
        counted = load_tokenizer(path, MAX_LENGTH_CAP)
        max_length = fit_max_length([len(ids) for ids in encode(counted, texts)])
    return load_tokenizer(path, max_length), max_length


def pad_batch(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` (int64) padded with 0 to the longest row of the batch."""
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, *, pool_batches: int
) -> list[np.ndarray]:
    """Index batches: shuffle, sort by length inside pools of ``pool_batches`` batches, then shuffle the batches."""
    order = rng.permutation(len(lengths))
    lengths_arr = np.asarray(lengths)
    pool = max(1, pool_batches) * batch_size
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths_arr[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Inference batches by length (least padding); callers put results back by index."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for i in range(0, len(order), batch_size):
        yield order[i : i + batch_size]


def cpu_threads(requested: int) -> int:
    """``requested`` when positive, else the number of CPUs this process may run on (its affinity, not the host's)."""
    if requested > 0:
        return requested
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, len(affinity(0)) if affinity is not None else (os.cpu_count() or 1))


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@torch.no_grad()
def embed_and_score(
    model: IntentClassifier, encoded: Sequence[Sequence[int]], *, batch_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Logits and embeddings of every row (eval mode), in input order."""
    model.eval()
    device = model.class_vectors.device
    n = len(encoded)
    logits = np.zeros((n, model.class_vectors.shape[0]), dtype=np.float32)
    embeddings = np.zeros((n, model.class_vectors.shape[1]), dtype=np.float32)
    for idx in sorted_batches([len(r) for r in encoded], batch_size):
        ids, mask = pad_batch([encoded[i] for i in idx])
        out_logits, out_emb = model(ids.to(device), mask.to(device))
        logits[idx] = out_logits.cpu().numpy()
        embeddings[idx] = out_emb.cpu().numpy()
    return logits, embeddings


def class_centroids(embeddings: np.ndarray, labels: np.ndarray, num_labels: int) -> np.ndarray:
    """L2-normalised mean embedding of each class (a class without rows gets a zero vector)."""
    centroids = np.zeros((num_labels, embeddings.shape[1]), dtype=np.float32)
    for k in range(num_labels):
        rows = embeddings[labels == k]
        if len(rows):
            centroid = rows.mean(axis=0)
            centroids[k] = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
    return centroids


def per_class_subset(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of up to ``per_class`` random rows of every class."""
    chosen: list[np.ndarray] = []
    for k in np.unique(labels):
        rows = np.flatnonzero(labels == k)
        chosen.append(rng.choice(rows, size=min(per_class, len(rows)), replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def _lr_lambda(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


@dataclass
class FitResult:
    model: IntentClassifier
    info: dict[str, Any]


def fit(
    *,
    base_path: Path,
    train_ids: Sequence[Sequence[int]],
    train_labels: np.ndarray,
    num_labels: int,
    settings: FitSettings,
    log: Callable[[str], None] = lambda _msg: None,
    on_epoch_end: Callable[[int, IntentClassifier], None] | None = None,
) -> FitResult:
    """Fine-tune the encoder and the cosine head on ``train_ids`` (token ids) and integer ``train_labels``.

    ``on_epoch_end(epoch, model)`` runs after every full epoch (``benchmarks.intent_recipe`` scores validation rows
    there); the model is back in training mode after it returns.
    """
    torch.manual_seed(settings.seed)
    torch.set_num_threads(cpu_threads(settings.threads))
    rng = np.random.default_rng(settings.seed)
    started = time.perf_counter()
    device = pick_device(settings.device)
    model = IntentClassifier(load_encoder(base_path), num_labels, scale=settings.scale, dropout=settings.dropout)
    model.to(device)

    # Cheap first stage: class vectors = centroids of the frozen sentence embeddings of a few rows per class.
    init_rows = per_class_subset(train_labels, settings.init_rows_per_class, rng)
    _, frozen = embed_and_score(model, [train_ids[i] for i in init_rows])
    with torch.no_grad():
        centroids = class_centroids(frozen, train_labels[init_rows], num_labels)
        model.class_vectors.copy_(torch.from_numpy(centroids).to(device))
    init_seconds = time.perf_counter() - started
    if settings.freeze_word_embeddings:
        # The 30522 x 384 token table is half the weights; its dense gradient and AdamW update cost ~40 % of a step
        # on CPU, and the few thousand utterances of an intent data set touch a sliver of it.
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)

    lengths = [len(r) for r in train_ids]
    steps_per_epoch = math.ceil(len(train_ids) / settings.batch_size)
    total_steps = max(1, math.ceil(settings.epochs * steps_per_epoch))
    if settings.max_steps > 0:
        total_steps = min(total_steps, settings.max_steps)
    head = [model.class_vectors]
    trainable = [(n, p) for n, p in model.encoder.named_parameters() if p.requires_grad]
    decay = [p for n, p in trainable if p.ndim >= 2 and "LayerNorm" not in n]
    no_decay = [p for n, p in trainable if not (p.ndim >= 2 and "LayerNorm" not in n)]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings.weight_decay, "lr": settings.learning_rate},
            {"params": no_decay, "weight_decay": 0.0, "lr": settings.learning_rate},
            {"params": head, "weight_decay": 0.0, "lr": settings.head_learning_rate},
        ]
    )
    warmup = int(settings.warmup_ratio * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(total_steps, warmup))
    labels_t = torch.from_numpy(train_labels.astype(np.int64)).to(device)

    model.train()
    step, epoch, running = 0, 0, 0.0
    losses: list[float] = []
    while step < total_steps:
        for idx in bucketed_batches(lengths, settings.batch_size, rng, pool_batches=settings.pool_batches):
            if step >= total_steps:
                break
            ids, mask = pad_batch([train_ids[i] for i in idx])
            logits, _ = model(ids.to(device), mask.to(device))
            loss = F.cross_entropy(
                logits, labels_t[torch.from_numpy(idx).to(device)], label_smoothing=settings.label_smoothing
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            value = float(loss.detach())
            running = 0.98 * running + 0.02 * value if step > 1 else value
            if step % 100 == 0 or step == total_steps:
                losses.append(round(running, 4))
                log(f"step {step}/{total_steps} loss {running:.4f} ({time.perf_counter() - started:.0f}s)")
        epoch += 1
        if on_epoch_end is not None and step % steps_per_epoch == 0:
            on_epoch_end(epoch, model)
            model.train()
    model.eval()
    model.to("cpu")  # export and evaluation run on the CPU
    return FitResult(
        model=model,
        info={
            "steps": step,
            "epochs_run": round(step / steps_per_epoch, 3),
            "steps_per_epoch": steps_per_epoch,
            "init_seconds": round(init_seconds, 2),
            "fit_seconds": round(time.perf_counter() - started, 2),
            "loss_every_100_steps": losses,
            "settings": asdict(settings),
            "threads": torch.get_num_threads(),
            "device": str(device),
        },
    )
