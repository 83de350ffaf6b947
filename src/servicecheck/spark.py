"""Audit a Spark DataFrame of conversations with one compiled pack per executor process.

Install with ``pip install 'servicecheck[spark]'`` (PySpark, pandas, PyArrow; Spark
needs Java 17). The input DataFrame has one conversation per row:

* ``id`` (string), optional ``language`` (``fr``/``en``; else detected);
* ``turns``: ``array<struct<speaker: string, text: string, start_ms: long, end_ms: long>>``
  (``start_ms``/``end_ms`` may be null or absent), or a string column holding the
  turns as JSON, or the whole conversation as canonical JSON (a ``{"id", "turns"}``
  object).

:func:`audit_dataframe` runs ``mapInPandas`` once: every Python worker builds one
:class:`~servicecheck.api.Auditor` from the PolicySet (sent once as a broadcast
variable) and reuses it for every batch of every partition. It returns
``findings`` (one row per finding) and ``scorecards`` (one row per conversation,
with each policy's status), both derived from ``results``; cache ``results``
(``audit.results.cache()``) when you use both, or Spark audits twice.

Rows that cannot be read (an unknown speaker, a turn without text) give a
scorecard with ``error`` set and no findings, as unreadable inputs do on the
command line.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only; pyspark is an optional dependency
    from pyspark.sql import DataFrame

__all__ = ["FINDING_COLUMNS", "RESULT_SCHEMA", "SCORECARD_COLUMNS", "SparkAudit", "audit_dataframe"]

# One flat schema for both kinds of rows (``kind`` = finding | scorecard): one pass of
# mapInPandas, and Arrow handles flat columns best.
RESULT_SCHEMA = (
    "kind string, id string, language string, turns int, score double, auto_failed boolean, "
    "finding_count int, statuses map<string,string>, error string, "
    "policy string, severity string, message string, turn int, speaker string, evidence string, "
    "window_first int, window_last int"
)
_NULLS_ORDER = [part.strip().split(" ", 1)[0] for part in RESULT_SCHEMA.split(", ")][1:]  # columns after kind
FINDING_COLUMNS = ["id", "policy", "severity", "message", "turn", "speaker", "evidence", "window_first", "window_last"]
SCORECARD_COLUMNS = ["id", "language", "turns", "score", "auto_failed", "finding_count", "statuses", "error"]
_NULLS = dict.fromkeys(
    ["language", "turns", "score", "auto_failed", "finding_count", "statuses", "error", "policy", "severity",
     "message", "turn", "speaker", "evidence", "window_first", "window_last"]
)

_auditors: dict[str, Any] = {}  # per Python worker: pack digest -> Auditor


@dataclass(frozen=True)
class SparkAudit:
    """What :func:`audit_dataframe` returns: the raw ``results`` and the two views built from it."""

    results: DataFrame
    findings: DataFrame
    scorecards: DataFrame


def _auditor(blob: bytes, language: str | None) -> Any:
    key = hashlib.sha256(blob).hexdigest() + f":{language}"
    auditor = _auditors.get(key)
    if auditor is None:
        from servicecheck.api import Auditor

        auditor = _auditors[key] = Auditor(pickle.loads(blob), language)
    return auditor


def _plain(value: Any) -> Any:
    """numpy/pandas/Row values -> JSON-ready Python values."""
    if value is None:
        return None
    if hasattr(value, "asDict"):  # a pyspark Row
        return {k: _plain(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def conversation_json(ident: Any, language: Any, turns: Any) -> str:
    """The canonical JSON of one row (``turns`` as a list of structs, or as JSON text)."""
    if isinstance(turns, str):
        parsed = json.loads(turns)
        if isinstance(parsed, dict):  # the whole conversation
            whole = parsed
            if ident is not None and "id" not in whole:
                whole["id"] = ident
            if language is not None and "language" not in whole:
                whole["language"] = language
            return json.dumps(whole, ensure_ascii=False)
        turns = parsed
    rows = []
    for turn in _plain(turns) or []:
        row = {k: v for k, v in (turn or {}).items() if v is not None}
        rows.append(row)
    doc: dict[str, Any] = {"turns": rows}
    if ident is not None:
        doc["id"] = str(_plain(ident))
    if language is not None:
        doc["language"] = str(_plain(language))
    return json.dumps(doc, ensure_ascii=False)


def audit_rows(rows: Iterable[tuple[Any, Any, Any]], auditor: Any) -> Iterator[dict[str, Any]]:
    """Result rows (both kinds) for ``(id, language, turns)`` rows; the work of one batch."""
    from servicecheck.errors import InputError
    from servicecheck.inputs import parse_json_transcript
    from servicecheck.model import InputProblem

    fed: deque[Any] = deque()  # what check_each was given, in order: a conversation, or an unreadable row's name

    def conversations() -> Iterator[Any]:
        for ident, language, turns in rows:
            name = str(_plain(ident)) if ident is not None else "row"
            try:
                parsed = parse_json_transcript(conversation_json(ident, language, turns), path=name)
            except (InputError, ValueError, TypeError) as exc:
                fed.append(name)
                yield InputProblem(name, str(exc))  # check_each passes it through, in its place
                continue
            for conversation in parsed:
                fed.append(conversation)
                yield conversation

    # check_each: a few conversations' turns normalised and prefiltered together (as the CLI audits)
    for result in auditor.check_each(conversations()):
        given = fed.popleft()
        if isinstance(result, InputProblem):  # unreadable, too long, or the engine refused it: a row, not a crash
            yield {**_NULLS, "kind": "scorecard", "id": given if isinstance(given, str) else given.id,
                   "error": result.message}
            continue
        lang = result.conversation.language
        yield {**_NULLS, "kind": "scorecard", "id": result.id, "language": lang,
               "turns": len(result.conversation.turns), "score": result.score,
               "auto_failed": result.auto_failed, "finding_count": len(result.findings),
               "statuses": {s.id: s.status for s in result.policies}}
        for f in result.findings:
            yield {**_NULLS, "kind": "finding", "id": result.id, "policy": f.policy,
                   "severity": str(f.severity), "message": f.message, "turn": f.turn, "speaker": f.speaker,
                   "evidence": f.evidence.text if f.evidence else None,
                   "window_first": f.window[0] if f.window else None,
                   "window_last": f.window[1] if f.window else None}


def audit_dataframe(
    df: DataFrame,
    policyset: Any = None,
    *,
    policy_dirs: Iterable[str] = (),
    include_default: bool = True,
    language: str | None = None,
    id_col: str = "id",
    language_col: str | None = "language",
    turns_col: str = "turns",
) -> SparkAudit:
    """Audit every conversation of ``df``; findings and scorecards come back as DataFrames.

    Args:
        df: one conversation per row (see the module docstring for the columns).
        policyset: a loaded PolicySet; by default the packs named by ``policy_dirs``
            (and the default pack unless ``include_default`` is False) are loaded here.
        policy_dirs: extra pack folders, as ``--policies``.
        include_default: load the default pack.
        language: force ``fr`` or ``en`` for every row (default: the row's, else detected).
        id_col: the id column.
        language_col: the language column (``None``: there is none).
        turns_col: the turns column (array of structs, or JSON text).

    Returns:
        A :class:`SparkAudit`: ``results``, ``findings`` (columns :data:`FINDING_COLUMNS`)
        and ``scorecards`` (columns :data:`SCORECARD_COLUMNS`; ``statuses`` maps each
        policy id to ``pass``, ``fail`` or ``n/a``).

    Raises:
        PolicyError: the packs do not load (before any Spark job runs).
    """
    import pandas as pd
    from pyspark.sql import functions as F

    if policyset is None:
        from servicecheck.policy.loader import load_policies

        policyset = load_policies(list(policy_dirs), include_default=include_default)
    blob = pickle.dumps(policyset, protocol=pickle.HIGHEST_PROTOCOL)
    shared = df.sparkSession.sparkContext.broadcast(blob)
    has_language = language_col is not None and language_col in df.columns
    selected = df.select(
        F.col(id_col).alias("id"),
        (F.col(language_col) if language_col is not None and has_language
         else F.lit(None).cast("string")).alias("language"),
        F.col(turns_col).alias("turns"),
    )

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        auditor = _auditor(shared.value, language)  # one per Python worker, reused by every batch
        for batch in batches:
            rows = list(audit_rows(zip(batch["id"], batch["language"], batch["turns"]), auditor))
            yield pd.DataFrame(rows, columns=["kind", *_NULLS_ORDER])

    results = selected.mapInPandas(run, schema=RESULT_SCHEMA)
    findings = results.where(F.col("kind") == "finding").select(*FINDING_COLUMNS)
    scorecards = results.where(F.col("kind") == "scorecard").select(*SCORECARD_COLUMNS)
    return SparkAudit(results, findings, scorecards)

