"""The labelled set (tests/data/compliance_set.jsonl) through ``forewarn lint``: what a store would see.

Every line is a lint input plus ``expected``, the codes a careful reviewer finds in it.
Recall over the planted findings must stay at or above 0.9, and no clean message (a
late-parcel notice, a payment retry reminder, a marketing mail with its unsubscribe line, an
order confirmation, a refund reported as done, a reply) may be blocked.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from forewarn.apps.cli import main
from outreach.compliance import CODES, LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "tests" / "data" / "compliance_set.jsonl"
# Written after the lists, measured once before any fix (recall 0.76), then used to fix them.
HOLDOUT = ROOT / "tests" / "data" / "compliance_holdout.jsonl"
# Written blind by a second hand from the contract and the code descriptions, committed before the
# first run (recall 0.80, one clean message blocked), then used to widen the lists: docs/compliance.md.
HOLDOUT2 = ROOT / "tests" / "data" / "compliance_holdout2.jsonl"
# Written after that widening, in other words again and with the traps it could fall into ("as
# promised", "a mi juicio", "nos avocats bio"): whether the fix generalises, not an estimate.
VARIANTS = ROOT / "tests" / "data" / "compliance_variants.jsonl"
spec = importlib.util.spec_from_file_location("compliance_quality", ROOT / "scripts" / "compliance_quality.py")
quality = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quality)



def labelled(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


LABELLED = labelled(SET)


def test_the_set_covers_every_code_and_language_with_clean_messages():
    assert len(LABELLED) >= 200
    planted = Counter(code for row in LABELLED for code in row["expected"])
    assert set(planted) == set(CODES), set(CODES) - set(planted)
    assert min(planted.values()) >= 6
    languages = Counter((row.get("language") or "mixed").split("-")[0] for row in LABELLED)
    assert all(languages[lang] >= 20 for lang in LANGUAGES), languages
    assert sum(1 for row in LABELLED if not row["expected"]) >= 50


# (set, keep its language fields, overall recall, per-code recall, precision) a change must not go below.
SETS = [(SET, True, 0.9, 0.75, 0.95), (HOLDOUT, True, 0.9, 0.75, 0.95), (SET, False, 0.9, 0.75, 0.95),
        (HOLDOUT2, True, 0.97, 0.9, 0.97), (HOLDOUT2, False, 0.97, 0.9, 0.97), (VARIANTS, False, 0.9, 0.75, 0.95)]


@pytest.mark.parametrize("path,keep_language,min_recall,min_code_recall,min_precision", SETS,
                         ids=["set", "holdout", "set-without-language", "holdout2", "holdout2-without-language",
                              "variants-without-language"])
def test_lint_finds_the_planted_findings_and_blocks_no_clean_message(tmp_path, path, keep_language, min_recall,
                                                                     min_code_recall, min_precision):
    """Without ``language`` (lint lines need not carry it, and the contract's do not) every language's lists apply."""
    source = tmp_path / "input.jsonl"
    rows = labelled(path)
    source.write_text("".join(json.dumps({k: v for k, v in row.items() if keep_language or k != "language"}) + "\n"
                              for row in rows))
    out = tmp_path / "results.jsonl"
    code = main(["lint", "--input", str(source), "--output", str(out)])
    assert code == 1  # the set has blocking findings, and no bad line
    results = [json.loads(line) for line in out.read_text().splitlines()]
    report = quality.score(labelled(path), results)
    assert report["clean_blocked"] == [], report["clean_blocked"]
    assert report["recall"] >= min_recall, quality.table(report)
    assert report["precision"] >= min_precision, quality.table(report)
    for code_name, row in report["per_code"].items():
        assert row["recall"] is None or row["recall"] >= min_code_recall, (code_name, row)


def test_holdout2_spreads_over_the_five_languages_with_clean_messages():
    rows = labelled(HOLDOUT2)
    assert len(rows) >= 150
    by_language = Counter(row["id"].split("-")[1] for row in rows)
    assert all(by_language[lang] >= 25 for lang in LANGUAGES), by_language
    assert sum(1 for row in rows if not row["expected"]) >= 50


def test_the_score_fails_when_findings_are_missing():
    """The yardstick itself: results with nothing found give recall 0 and no clean block."""
    empty = [{"id": row["id"], "ok": True, "findings": []} for row in LABELLED]
    report = quality.score(LABELLED, empty)
    assert report["recall"] == 0.0 and report["clean_blocked"] == []
    blocked = [{"id": row["id"], "ok": False, "findings": [{"code": "risky_promise"}]} for row in LABELLED]
    assert len(quality.score(LABELLED, blocked)["clean_blocked"]) == sum(1 for r in LABELLED if not r["expected"])
