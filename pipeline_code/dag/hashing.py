"""Content hashes for lineage and caching: files, folders, step code, and step cache keys.

Everything is hashed by content and relative path, never by timestamp or absolute location, so a cache key is
the same on every machine and in every run directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pipeline_code.common

# Bump when the key recipe changes, so old cache entries are never mistaken for new ones.
CACHE_KEY_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileRecord:
    """One file: path relative to the folder it was found in (POSIX separators), sha256 and size in bytes."""

    path: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_tree(root: Path) -> tuple[FileRecord, ...]:
    """Records of every file under ``root`` sorted by relative path; a file ``root`` gives one record by name.

    A missing ``root`` gives no records: an output a step declared but never wrote is simply empty.
    """
    if root.is_file():
        return (FileRecord(root.name, sha256_file(root), root.stat().st_size),)
    if not root.is_dir():
        return ()
    files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
    return tuple(FileRecord(p.relative_to(root).as_posix(), sha256_file(p), p.stat().st_size) for p in files)


def tree_digest(records: Iterable[FileRecord]) -> str:
    """One sha256 over a set of file records (names, sizes and contents)."""
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: r.path):
        digest.update(f"{record.path}\0{record.sha256}\0{record.size}\n".encode())
    return digest.hexdigest()


def step_code_folders(entry_point: str) -> tuple[Path, ...]:
    """The folders whose Python files make up a step's code asset: the entry point's package and ``common/``.

    Finding the module imports its parent packages, not the module itself.
    """
    spec = importlib.util.find_spec(entry_point)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"entry point module {entry_point!r} cannot be found")
    step_folder = Path(spec.origin).resolve().parent
    common_folder = Path(pipeline_code.common.__file__).resolve().parent
    return (step_folder,) if step_folder == common_folder else (step_folder, common_folder)


def code_digest(folders: Sequence[Path]) -> str:
    """sha256 over every ``.py`` file of ``folders`` (recursively, caches skipped), by relative path and content."""
    digest = hashlib.sha256()
    for index, folder in enumerate(folders):
        sources = sorted(
            (p for p in folder.rglob("*.py") if "__pycache__" not in p.parts and p.is_file()),
            key=lambda p: p.relative_to(folder).as_posix(),
        )
        for source in sources:
            digest.update(f"{index}:{source.relative_to(folder).as_posix()}\0".encode())
            digest.update(source.read_bytes())
            digest.update(b"\n")
    return digest.hexdigest()


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def step_cache_key(
    *,
    step_type: str,
    job_type: str,
    entry_point: str,
    code: str,
    inputs: Mapping[str, Sequence[FileRecord]],
    parameters: Mapping[str, Any],
    outputs: Sequence[str],
) -> str:
    """sha256 of everything that determines a step's outputs: its code, its input files and its parameters.

    The step type and declared outputs are included so two steps sharing code and inputs never share an entry.
    """
    recipe = {
        "version": CACHE_KEY_VERSION,
        "step": step_type,
        "job_type": job_type,
        "entry_point": entry_point,
        "code": code,
        "inputs": {name: tree_digest(records) for name, records in inputs.items()},
        "parameters": dict(parameters),
        "outputs": sorted(outputs),
    }
    return hashlib.sha256(canonical_json(recipe).encode()).hexdigest()
