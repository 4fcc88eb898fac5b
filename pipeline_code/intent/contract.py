"""The intent data contract: CSV files with columns ``text,label``; the label ``oos`` marks an out-of-scope row.

Every row of every file is either accepted or rejected with a reason (rows in = accepted + rejected):

- ``text is not valid UTF-8``: the bytes of the text do not decode (read with ``surrogateescape``, so one bad row
  does not make the whole file unreadable);
- ``text is empty``: nothing but white space;
- ``text is longer than N characters``: an utterance, not a document (the model sees the first tokens only);
- ``label is empty``;
- ``label 'x' is not a training label``: a validation or test row whose intent the model cannot know (``oos`` rows
  are always allowed: recognising them is the point of the out-of-scope rule);
- ``row has N fields, expected 2``: a broken CSV line.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TEXT = "text"
LABEL = "label"
OOS_LABEL = "oos"
COLUMNS = (TEXT, LABEL)
CONTRACT_NAME = "intent-text-label"
CONTRACT_VERSION = "1"


class ContractError(ValueError):
    """A file cannot be read as an intent CSV at all (no header, wrong columns); names the file."""


@dataclass(frozen=True)
class Reject:
    line: int  # 1-based line of the row in its file (the header is line 1)
    text: str
    label: str
    reason: str


@dataclass
class ContractResult:
    """Accepted ``(text, label)`` rows and rejects of one file, with the counts that reconcile."""

    source: str
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    skipped: int = 0  # accepted rows left out on purpose (quick mode's per-label cap)

    @property
    def rows_in(self) -> int:
        return len(self.texts) + len(self.rejects) + self.skipped

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reject in self.rejects:
            key = reject.reason.split(":")[0] if reject.reason.startswith("label") else reject.reason
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _printable(value: str) -> str:
    """A text as it can be written back to a UTF-8 file: undecodable bytes shown as \\xNN."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_rows(path: Path, *, required: Sequence[str] = COLUMNS) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line, fields)`` rows of a ``.csv`` / ``.csv.gz`` file; ContractError if it has no usable header."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.lower().endswith(".gz") else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ContractError(f"{path}: cannot be read: {exc}") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    reader = csv.reader(io.StringIO(raw.decode("utf-8", "surrogateescape"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ContractError(f"{path}: file is empty (no header row)") from None
    except csv.Error as exc:
        raise ContractError(f"{path}: not a CSV file: {exc}") from exc
    header = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise ContractError(
            f"{path}: header {header} lacks column(s) {', '.join(missing)}; expected {','.join(required)}"
        )
    rows: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            rows.append((reader.line_num, fields))
    except csv.Error as exc:
        raise ContractError(f"{path}: line {reader.line_num}: broken CSV: {exc}") from exc
    return header, rows


def check_rows(
    header: Sequence[str],
    rows: Iterable[tuple[int, list[str]]],
    *,
    source: str,
    max_chars: int,
    known_labels: set[str] | None = None,
) -> ContractResult:
    """Apply the contract; ``known_labels`` (validation / test files) rejects labels the model was not trained on."""
    text_at, label_at = header.index(TEXT), header.index(LABEL)
    result = ContractResult(source=source)
    for line, fields in rows:
        if not fields:
            continue  # a blank line is not a row
        text = fields[text_at] if len(fields) > text_at else ""
        label = fields[label_at].strip() if len(fields) > label_at else ""
        reason = ""
        if len(fields) != len(header):
            reason = f"row has {len(fields)} fields, expected {len(header)}"
        elif _has_surrogates(text) or _has_surrogates(label):
            reason = "text is not valid UTF-8"
        elif not text.strip():
            reason = "text is empty"
        elif len(text) > max_chars:
            reason = f"text is longer than {max_chars} characters"
        elif not label:
            reason = "label is empty"
        elif known_labels is not None and label != OOS_LABEL and label not in known_labels:
            reason = f"label {label!r} is not a training label"
        if reason:
            result.rejects.append(Reject(line, _printable(text), _printable(label), reason))
        else:
            result.texts.append(" ".join(text.split()))
            result.labels.append(label)
    return result


def write_table(texts: Sequence[str], labels: Sequence[str], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(zip(texts, labels, strict=True))
    return path


def read_table(path: Path) -> tuple[list[str], list[str]]:
    """A validated ``text,label`` file (written by :func:`write_table`)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r[TEXT] for r in rows], [r[LABEL] for r in rows]
