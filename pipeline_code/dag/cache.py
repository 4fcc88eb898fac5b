"""The step cache: outputs and metrics of finished steps, stored by cache key.

An entry is only ever created whole (written to a temporary folder, then renamed), and is checked against its
recorded sha256s before reuse, so an interrupted write or a hand-edited file can never be served as a hit.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_code.dag.hashing import FileRecord, hash_tree
from pipeline_code.dag.manifest import utc_now

ENTRY_FILE = "entry.json"
OUTPUTS_DIR = "outputs"


@dataclass(frozen=True)
class CacheEntry:
    """A stored result: metrics and, per output, the files it held."""

    key: str
    path: Path
    step_type: str
    metrics: Mapping[str, Any]
    outputs: Mapping[str, tuple[FileRecord, ...]]

    def output_dir(self, name: str) -> Path:
        return self.path / OUTPUTS_DIR / name


def copy_tree_contents(source: Path, destination: Path) -> None:
    """Copy the files under ``source`` into ``destination`` (created); a file ``source`` is copied by name.

    Copies, never links: a step that opens an input for writing must not be able to change the upstream artefact
    or a cache entry (hard links would share the inode, and permissions do not stop root).
    """
    destination.mkdir(parents=True, exist_ok=True)
    if source.is_file():
        shutil.copy2(source, destination / source.name)
    elif source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True)


class StepCache:
    """Entries under ``root/<key[:2]>/<key>/`` holding ``entry.json`` and ``outputs/<output name>/...``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _entry_path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def lookup(self, key: str) -> CacheEntry | None:
        """The entry for ``key`` if it exists and its files still match their recorded hashes."""
        path = self._entry_path(key)
        entry_file = path / ENTRY_FILE
        if not entry_file.is_file():
            return None
        try:
            data = json.loads(entry_file.read_text(encoding="utf-8"))
            outputs = {
                name: tuple(FileRecord(f["path"], f["sha256"], int(f["size"])) for f in files)
                for name, files in data["outputs"].items()
            }
        except (OSError, ValueError, KeyError, TypeError):
            return None
        for name, records in outputs.items():
            if hash_tree(path / OUTPUTS_DIR / name) != records:
                return None
        return CacheEntry(key, path, str(data.get("step", "")), dict(data.get("metrics", {})), outputs)

    def store(
        self,
        key: str,
        *,
        step_type: str,
        outputs: Mapping[str, Path],
        records: Mapping[str, tuple[FileRecord, ...]],
        metrics: Mapping[str, Any],
    ) -> None:
        """Copy ``outputs`` (output name -> folder) into a new entry; a concurrent writer of the same key wins."""
        final = self._entry_path(key)
        if (final / ENTRY_FILE).is_file():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".tmp-{uuid.uuid4().hex}"
        try:
            for name, folder in outputs.items():
                copy_tree_contents(folder, staging / OUTPUTS_DIR / name)
            entry = {
                "key": key,
                "step": step_type,
                "created_at": utc_now(),
                "metrics": dict(metrics),
                "outputs": {name: [r.to_dict() for r in recs] for name, recs in records.items()},
            }
            (staging / ENTRY_FILE).write_text(json.dumps(entry, indent=2, default=str), encoding="utf-8")
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():  # an incomplete entry left by a crash: replace it
                shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        except OSError:
            # Another process renamed the same key first, or the disk is full: caching is an optimisation,
            # the run itself has succeeded.
            pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
