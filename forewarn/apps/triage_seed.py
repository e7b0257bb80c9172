"""``forewarn triage seed``: start the intent model from the store's own helpdesk export.

    forewarn triage seed --input export.csv --output intent-seed.npz [--config forewarn.toml]

The export is the store's labelled tickets, oldest first, as JSONL (one object a line) or CSV
(a header row naming the columns), by the file's extension or ``--format``:

* ``text`` (required): what the customer wrote (the body; the quoted reply chain is cut as
  for a live message);
* ``intent`` (required): the category the agent gave it, spelled as the live
  ``support.labelled`` events will spell it (1-64 characters);
* ``subject``, ``language`` (BCP 47), ``channel`` (``email``, ``chat``, ``sms``, ``phone``,
  ``social``): optional; other columns (ticket ids, dates) are ignored and listed.

Every row is checked before anything is learned: a bad row is reported as ``line N: field:
what is wrong`` (the first ``MAX_ERRORS``, then how many more), nothing is written, and the
exit code is 2. Otherwise the rows are taught to a fresh model one by one, predicted then
learned (:meth:`online_models.intent.IntentModel.teach`), so its calibration comes from the
export's own checked answers, and the seed file is written (:mod:`online_models.intent_seed`:
hashed counts, never the text). The summary (stderr, or JSON on stdout with ``--json``) says,
per intent, how many labels it had and how often a model trained on the rest of the export
named it right (``--folds``-fold cross-validation, identical texts kept in one fold so a
repeated message does not grade itself), and what the seeded model would have done from the
second half of the export on: accuracy, and the share given ``[triage] min_confidence`` and
how often those were right. It also names intents that ``[triage] ai_intents`` does not list
(a person always answers them) and intents spelled two ways.

The engine reads the file through ``[triage] seed`` (docs/triage.md, "Seeding it from a
helpdesk export").
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterator, NamedTuple, get_args

import msgspec

from forewarn.core.events import MAX_EVENT_BYTES, Channel, Language

OK, BAD = 0, 2
MAX_ERRORS = 20
FIELDS = ("text", "intent", "subject", "language", "channel")
CHANNELS = get_args(Channel)
_LANGUAGE = msgspec.json.Decoder(Language)


class Row(NamedTuple):
    line: int
    text: str
    intent: str
    subject: str | None
    language: str | None
    channel: str | None


class BadRow(ValueError):
    def __init__(self, line: int, field: str, problem: str) -> None:
        super().__init__(f"line {line}: {field}: {problem}" if field else f"line {line}: {problem}")


def _records(path: Path, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, record) of the export; a record that is not an object comes as the problem text."""
    with open(path, encoding="utf-8", errors="strict", newline="") as fh:
        if fmt == "jsonl":
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    yield n, f"not JSON ({exc})"
                    continue
                yield n, obj if isinstance(obj, dict) else "not a JSON object"
            return
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for name in ("text", "intent"):
            if name not in header:
                raise BadRow(1, "", f"the header row has no {name!r} column (columns: {', '.join(header) or 'none'})")
        start = reader.line_num + 1
        for record in reader:
            if None in record:
                yield start, f"{len(header) + len(record[None])} values for {len(header)} columns"
            elif any(v is None for v in record.values()):
                yield start, f"fewer values than the {len(header)} columns"
            else:
                # An empty CSV cell is a missing value.
                yield start, {k: v for k, v in record.items() if v != ""}
            start = reader.line_num + 1


def _row(n: int, obj: dict[str, Any]) -> Row:
    def text_field(name: str, limit: int, required: bool) -> str | None:
        value = obj.get(name)
        if value is None:
            if required:
                raise BadRow(n, name, "missing")
            return None
        if not isinstance(value, str):
            raise BadRow(n, name, f"not a string ({type(value).__name__})")
        if required and not value.strip():
            raise BadRow(n, name, "empty")
        if len(value.encode("utf-8")) > limit:
            raise BadRow(n, name, f"longer than {limit:,} bytes")
        return value

    text = text_field("text", MAX_EVENT_BYTES, True)
    intent = text_field("intent", 256, True).strip()
    if len(intent) > 64:
        raise BadRow(n, "intent", f"{intent[:80]!r} is longer than 64 characters (the limit of a support.labelled intent)")
    subject = text_field("subject", 4000, False)
    language = text_field("language", 64, False)
    if language is not None:
        try:
            _LANGUAGE.decode(json.dumps(language))
        except msgspec.ValidationError:
            raise BadRow(n, "language", f"{language!r} is not a BCP 47 language tag (en, pt-BR)") from None
    channel = text_field("channel", 16, False)
    if channel is not None and channel not in CHANNELS:
        raise BadRow(n, "channel", f"{channel!r} is not one of {', '.join(CHANNELS)}")
    return Row(n, text, intent, subject, language, channel)


def read_export(path: Path, fmt: str) -> tuple[list[Row], list[str], list[str]]:
    """(rows, errors, ignored columns); raises BadRow for a file that cannot be read at all."""
    rows, errors, ignored = [], [], set()
    try:
        for n, record in _records(path, fmt):
            if isinstance(record, str):
                errors.append(str(BadRow(n, "", record)))
                continue
            ignored.update(k for k in record if k not in FIELDS)
            try:
                rows.append(_row(n, record))
            except BadRow as exc:
                errors.append(str(exc))
    except UnicodeDecodeError as exc:
        raise BadRow(0, "", f"not UTF-8 text ({exc.reason} at byte {exc.start} of a line)") from None
    except csv.Error as exc:
        raise BadRow(0, "", f"not CSV ({exc})") from None
    return rows, errors, sorted(map(str, ignored))


def cross_validated(features: list[tuple[list[int], list[int]]], rows: list[Row], folds: int) -> list[bool | None]:
    """Per row, whether a model trained on the other folds named its intent (None: not scored)."""
    from online_models.intent import HashedComplementNB
    from online_models.text_features import N_FEATURES, readable

    fold = [zlib.crc32(readable(r.subject, r.text).encode()) % folds for r in rows]
    right: list[bool | None] = [None] * len(rows)
    for k in range(folds):
        nb = HashedComplementNB(N_FEATURES, alpha=0.1)
        for (x, _), r, f in zip(features, rows, fold):
            if f != k:
                nb.learn(x, r.intent)
        if not nb.classes:
            continue
        for i, ((x, _), r, f) in enumerate(zip(features, rows, fold)):
            if f == k:
                right[i] = nb.classes[int(nb.scores(x).argmax())] == r.intent
    return right


def summarise(rows: list[Row], predictions: list, held_out: list[bool | None], triage: Any,
              ignored: list[str], source: str) -> dict[str, Any]:
    from forewarn.engine.config import intent_key

    labels = Counter(r.intent for r in rows)
    per_intent: dict[str, dict[str, Any]] = {}
    ai = {intent_key(i) for i in triage.ai_intents}
    for intent, n in sorted(labels.items(), key=lambda kv: (-kv[1], kv[0])):
        scored = [h for h, r in zip(held_out, rows) if r.intent == intent and h is not None]
        per_intent[intent] = {"labels": n, "held_out_accuracy": round(sum(scored) / len(scored), 4) if scored else None,
                              "ai_lane": intent_key(intent) in ai}
    scored = [h for h in held_out if h is not None]
    second = list(zip(predictions, rows))[len(rows) // 2:]
    passed = [(p, r) for p, r in second if p.intent is not None and p.confidence >= triage.min_confidence]
    spellings: dict[str, set[str]] = defaultdict(set)
    for intent in labels:
        spellings[intent_key(intent)].add(intent)
    return {
        "input": source, "rows": len(rows), "intents": len(labels),
        "languages": dict(Counter(r.language for r in rows if r.language).most_common()),
        "channels": dict(Counter(r.channel for r in rows if r.channel).most_common()),
        "held_out_accuracy": round(sum(scored) / len(scored), 4) if scored else None,
        "second_half": {
            "rows": len(second),
            "accuracy": round(sum(p.intent == r.intent for p, r in second) / len(second), 4) if second else None,
            "min_confidence": triage.min_confidence,
            "share_at_min_confidence": round(len(passed) / len(second), 4) if second else None,
            "accuracy_at_min_confidence": round(sum(p.intent == r.intent for p, r in passed) / len(passed), 4)
            if passed else None,
        },
        "per_intent": per_intent,
        "not_in_ai_intents": sorted(i for i, v in per_intent.items() if not v["ai_lane"]),
        "spelled_two_ways": sorted(sorted(v) for v in spellings.values() if len(v) > 1),
        "ignored_columns": ignored,
    }


def _table(s: dict[str, Any], output: str, folds: int) -> str:
    def pct(v):
        return "-" if v is None else f"{v:.3f}"

    second = s["second_half"]
    lines = [f"triage seed: {s['rows']:,} labelled messages, {s['intents']} intents -> {output}",
             f"  held-out accuracy ({folds}-fold): {pct(s['held_out_accuracy'])}",
             f"  seeded model on the second half of the export (predicted before learned): accuracy "
             f"{pct(second['accuracy'])}; {pct(second['share_at_min_confidence'])} of messages at "
             f"triage.min_confidence {second['min_confidence']:g}, right {pct(second['accuracy_at_min_confidence'])}",
             "", f"  {'intent':32} {'labels':>7} {'held-out acc':>13}  lane"]
    for intent, v in s["per_intent"].items():
        lines.append(f"  {intent[:32]:32} {v['labels']:>7,} {pct(v['held_out_accuracy']):>13}  "
                     f"{'ai if sure' if v['ai_lane'] else 'human (not in triage.ai_intents)'}")
    few = [i for i, v in s["per_intent"].items() if v["labels"] < 5]
    if few:
        lines.append(f"  note: {', '.join(few)}: fewer than 5 labels, too few to be named with confidence")
    if s["spelled_two_ways"]:
        lines.append("  note: the same intent spelled two ways (learned as different intents): "
                     + "; ".join(" / ".join(v) for v in s["spelled_two_ways"]))
    if s["ignored_columns"]:
        lines.append(f"  ignored fields: {', '.join(s['ignored_columns'])}")
    return "\n".join(lines)


def cmd_seed(args: argparse.Namespace) -> int:
    from forewarn.apps import progress
    from forewarn.engine import config as cfgmod
    from online_models import intent_seed
    from online_models.intent import IntentModel
    from online_models.text_features import features, readable

    triage = cfgmod.load(args.config).triage
    path = Path(args.input)
    fmt = args.format or {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}.get(
        path.suffix.lower())
    if fmt is None:
        print(f"forewarn triage seed: {path}: say --format csv or --format jsonl (the extension "
              f"{path.suffix or '(none)'!r} does not tell)", file=sys.stderr)
        return BAD
    if args.folds == 1 or args.folds < 0:
        print(f"forewarn triage seed: --folds {args.folds}: give 2 or more (or 0 for no cross-validation)",
              file=sys.stderr)
        return BAD
    try:
        rows, errors, ignored = read_export(path, fmt)
    except BadRow as exc:
        print(f"forewarn triage seed: {path}: {str(exc).removeprefix('line 0: ')}", file=sys.stderr)
        return BAD
    if errors:
        for e in errors[:MAX_ERRORS]:
            print(f"{path}: {e}", file=sys.stderr)
        more = f" ({len(errors) - MAX_ERRORS} more not shown)" if len(errors) > MAX_ERRORS else ""
        print(f"forewarn triage seed: {len(errors)} bad row(s){more}; nothing written", file=sys.stderr)
        return BAD
    if not rows:
        print(f"forewarn triage seed: {path}: no labelled message in it; nothing written", file=sys.stderr)
        return BAD
    model = IntentModel()
    predictions, feats = [], []
    with progress.bar(len(rows), "triage seed", "message") as bar:
        for r in rows:
            predictions.append(model.teach(r.subject, r.text, r.intent))
            if args.folds:
                feats.append(features(readable(r.subject, r.text)))
            bar.update(1)
    held_out = cross_validated(feats, rows, args.folds) if args.folds else [None] * len(rows)
    summary = summarise(rows, predictions, held_out, triage, ignored, path.name)
    intent_seed.save(model, args.output, summary)
    if args.json:
        print(json.dumps(summary))
    else:
        print(_table(summary, args.output, args.folds), file=sys.stderr)
    return OK


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("triage", help="inbound messages: the intent model")
    tsub = t.add_subparsers(dest="triage_command", required=True)
    s = tsub.add_parser("seed", help="a seed file for the intent model from the store's own labelled helpdesk export",
                        description=__doc__.split("\n\n")[0])
    s.add_argument("--input", required=True, help="the export: JSONL or CSV rows with text, intent "
                                                  "(and optional subject, language, channel), oldest first")
    s.add_argument("--output", required=True, help="the seed file to write (name it in [triage] seed)")
    s.add_argument("--format", choices=("csv", "jsonl"), help="the export's format (default: by its extension)")
    s.add_argument("--config", help="TOML config whose [triage] the summary reads (default forewarn.toml if present)")
    s.add_argument("--folds", type=int, default=5,
                   help="cross-validation folds for the held-out accuracy (default %(default)s; 0 = none)")
    s.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    s.set_defaults(func=cmd_seed)

