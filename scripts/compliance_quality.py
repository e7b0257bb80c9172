"""Per-code precision and recall of ``forewarn lint`` on a labelled set (tests/data/compliance_set.jsonl).

Each line of the set is a lint input line plus ``expected``: the codes a careful reviewer
finds in it (warnings included). The set goes through the real command, ``forewarn lint``,
and its output is compared code by code:

    python scripts/compliance_quality.py [tests/data/compliance_set.jsonl] [--json] [--config FILE]

Prints, per code, planted (expected), found, true positives, precision and recall; then the
recall over all planted findings and the clean messages (expected none) that got a block.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SET = ROOT / "tests" / "data" / "compliance_set.jsonl"


def run_lint(set_path: Path, config: str | None = None) -> tuple[int, list[dict], str]:
    """(exit code, one result per line, stderr) of ``forewarn lint`` over the set."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        cmd = [sys.executable, "-m", "forewarn", "lint", "--input", str(set_path), "--output", str(out)]
        if config:
            cmd += ["--config", config]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                           env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        results = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return p.returncode, results, p.stderr


def score(labelled: list[dict], results: list[dict]) -> dict:
    """Per-code and overall counts; ``clean_blocked`` lists clean messages that got a block finding."""
    if len(labelled) != len(results):
        raise ValueError(f"{len(labelled)} labelled lines but {len(results)} results")
    planted, found, hits = Counter(), Counter(), Counter()
    clean_blocked, missed, extra = [], [], []
    for row, res in zip(labelled, results):
        if row["id"] != res["id"]:
            raise ValueError(f"results out of order: {row['id']!r} vs {res['id']!r}")
        want = set(row["expected"])
        got = {f["code"] for f in res["findings"]}
        planted.update(want)
        found.update(got)
        hits.update(want & got)
        missed += [(row["id"], c) for c in sorted(want - got)]
        extra += [(row["id"], c) for c in sorted(got - want)]
        if not want and not res["ok"]:
            clean_blocked.append(row["id"])
    codes = sorted(set(planted) | set(found))
    per_code = {c: {"planted": planted[c], "found": found[c], "tp": hits[c],
                    "precision": round(hits[c] / found[c], 3) if found[c] else None,
                    "recall": round(hits[c] / planted[c], 3) if planted[c] else None} for c in codes}
    total_planted = sum(planted.values())
    return {"messages": len(labelled), "clean": sum(1 for r in labelled if not r["expected"]),
            "planted": total_planted, "recall": round(sum(hits.values()) / total_planted, 3) if total_planted else None,
            "precision": round(sum(hits.values()) / sum(found.values()), 3) if found else None,
            "clean_blocked": clean_blocked, "missed": missed, "extra": extra, "per_code": per_code}


def table(report: dict) -> str:
    lines = [f"{'code':<28}{'planted':>8}{'found':>7}{'tp':>5}{'precision':>11}{'recall':>8}"]
    for code, r in report["per_code"].items():
        p = "-" if r["precision"] is None else f"{r['precision']:.2f}"
        rc = "-" if r["recall"] is None else f"{r['recall']:.2f}"
        lines.append(f"{code:<28}{r['planted']:>8}{r['found']:>7}{r['tp']:>5}{p:>11}{rc:>8}")
    lines.append(f"\n{report['messages']} messages ({report['clean']} clean), {report['planted']} planted findings: "
                 f"recall {report['recall']}, precision {report['precision']}; "
                 f"clean messages blocked: {len(report['clean_blocked'])} {report['clean_blocked'] or ''}")
    if report["missed"]:
        lines.append("missed: " + ", ".join(f"{i}:{c}" for i, c in report["missed"]))
    if report["extra"]:
        lines.append("extra:  " + ", ".join(f"{i}:{c}" for i, c in report["extra"]))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", nargs="?", default=str(DEFAULT_SET), help="labelled JSONL (default %(default)s)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--config", help="TOML config whose [compliance] table lint uses")
    args = ap.parse_args()
    labelled = [json.loads(line) for line in Path(args.set).read_text().splitlines() if line.strip()]
    code, results, stderr = run_lint(Path(args.set), args.config)
    if code == 2:
        print(stderr, file=sys.stderr)
        return 2
    report = score(labelled, results)
    report["lint_summary"] = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    print(json.dumps(report, indent=2) if args.json else table(report) + "\n" + report["lint_summary"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
