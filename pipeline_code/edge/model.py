"""The served model: a verified intent model folder, swapped for a new one only when the new one loads cleanly.

Every file of a candidate folder is checked against the sha256 of its ``metadata.json`` (by
:class:`~pipeline_code.intent.runtime.IntentPredictor`); a missing, corrupt or malformed candidate is refused and
the last good model keeps answering, with the reason kept for health reports and metrics.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_code.intent.runtime import METADATA_FILE, IntentModelError, IntentPredictor


@dataclass(frozen=True)
class LoadedModel:
    folder: Path
    predictor: IntentPredictor
    #: sha256 of metadata.json, which lists the sha256 of every file: one id for the whole folder's content.
    model_sha256: str


@dataclass(frozen=True)
class SwapResult:
    swapped: bool
    reason: str


def folder_id(folder: Path) -> str | None:
    """sha256 of the folder's metadata.json, or None when it cannot be read (the folder is not a model yet)."""
    try:
        return hashlib.sha256((folder / METADATA_FILE).read_bytes()).hexdigest()
    except OSError:
        return None


class ModelSlot:
    """Holds the current model; :meth:`swap` replaces it atomically only with a model that verified and loaded."""

    def __init__(self, *, threads: int = 1) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._current: LoadedModel | None = None
        self.last_failure: str | None = None
        self.swap_failures = 0

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def swap(self, folder: Path) -> SwapResult:
        folder = Path(folder)
        before = folder_id(folder)
        try:
            predictor = IntentPredictor(folder, threads=self._threads)
        except IntentModelError as exc:
            return self._refuse(str(exc))
        except Exception as exc:  # a candidate must never take the app down, whatever breaks in it
            return self._refuse(f"model folder {folder}: {type(exc).__name__}: {exc}")
        if before is None or folder_id(folder) != before:
            return self._refuse(f"model folder {folder}: {METADATA_FILE} changed while loading; retried later")
        loaded = LoadedModel(folder=folder, predictor=predictor, model_sha256=before)
        with self._lock:
            self._current = loaded
            self.last_failure = None
        return SwapResult(True, f"serving model {before[:12]} from {folder}")

    def reload_if_changed(self, folder: Path) -> SwapResult | None:
        """Swap when the folder's content id differs from the served one (and from the last refused one)."""
        candidate = folder_id(Path(folder))
        current = self._current
        if candidate is None and current is not None:
            return None  # mid-copy or removed: keep serving, check again at the next interval
        if current is not None and candidate == current.model_sha256 and Path(folder) == current.folder:
            return None
        if candidate is not None and candidate == self._refused_id:
            return None
        result = self.swap(folder)
        self._refused_id = None if result.swapped else candidate
        return result

    _refused_id: str | None = None

    def _refuse(self, reason: str) -> SwapResult:
        with self._lock:
            self.last_failure = reason
            self.swap_failures += 1
        kept = self._current
        suffix = f"; still serving {kept.model_sha256[:12]}" if kept is not None else "; no model loaded"
        return SwapResult(False, reason + suffix)

    def describe(self) -> dict[str, Any]:
        current = self._current
        return {
            "model_sha256": current.model_sha256 if current else None,
            "model_folder": str(current.folder) if current else None,
            "model_version": current.predictor.metadata.get("version") if current else None,
            "last_swap_failure": self.last_failure,
            "swap_failures": self.swap_failures,
        }
