"""A simulated operator (issue [learning]): does learning from 20 decisions on one release pair
lift the next release pair's queue?

Per case, two fresh stores, both analysing ``new`` and then ``fix`` (the next release) with the
installed ``controlroom``:
- *with*: after ``new``, the operator decides the first 20 open tasks from the hand labels
  (``false`` or ``trivial``: reject with the verdict as reason; ``worth``: approve; unlabelled:
  skipped and counted) with ``controlroom decide``, then ``fix`` is analysed;
- *without*: no decision.
The next pair's queue is what is pending after ``fix`` in queue order, without the tasks the
operator decided (both stores then rank the same tasks; only learning orders them differently; a
patch release alone creates too few tasks to judge). Printed per store: worth / labelled over its first 20 (``false`` for a critical not
labelled worth, as run.py counts), unlabelled tasks (label them in ``labels/<case>.toml``, the same
format; ``--stubs`` prints entries), the difference in points (the issue asks >= 20), and every
critical labelled ``worth`` whose priority is lower with the decisions than without (asked: none).

Usage: python benchmarks/signal/operator.py [--case NAME] [--stubs] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build import CACHE, HERE, build, git, load_cases
from oracles import judge, label_stub, load_labels
from run import analyse, controlroom, queue

TOP = 20
REJECT = {"false", "trivial"}


def replay(repo: Path, db: Path, tasks: list[dict], labels: dict) -> dict:
    """Decide the first ``TOP`` open tasks as the labels say; returns what was done."""
    done: dict = {"approved": 0, "rejected": 0, "unlabelled": 0, "fingerprints": []}
    for task in [t for t in tasks if t["state"] == "pending"][:TOP]:
        label = labels.get(task["fingerprint"])
        done["fingerprints"].append(task["fingerprint"])
        if label is None:
            done["unlabelled"] += 1
            continue
        verb = "reject" if label["verdict"] in REJECT else "approve"
        reason = [] if verb == "approve" else ["--reason", f"operator: {label['verdict']}"]
        controlroom(repo, db, "decide", str(task["id"]), verb, *reason)
        done["approved" if verb == "approve" else "rejected"] += 1
    return done


def next_pair(tasks: list[dict], decided: set[str]) -> list[dict]:
    """The pending queue after the next pair, without the tasks the operator decided (so both
    stores rank the same tasks: only learning orders them differently)."""
    return [t for t in tasks if t["state"] == "pending" and t["fingerprint"] not in decided]


def run_case(name: str, stubs: bool) -> dict:
    case = next(c for c in load_cases() if c.name == name)
    repo = build(case)
    labels = load_labels(HERE / "labels" / f"{case.name}.toml")
    folder = CACHE / "runs" / case.name / "operator"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    result: dict = {"case": case.name}
    queues = {}
    try:
        for store in ("with", "without"):
            db = folder / f"{store}.db"
            analyse(repo, db, "new")
            if store == "with":
                result["decisions"] = replay(repo, db, queue(repo, db), labels)
            analyse(repo, db, "fix")
            queues[store] = next_pair(queue(repo, db), set(result["decisions"]["fingerprints"]))
    finally:
        git(repo, "checkout", "-q", "main")
    for store, tasks in queues.items():
        judged = judge(tasks[:TOP], labels)
        labelled = judged.worth + judged.trivial + judged.false
        result[store] = {
            "tasks": len(tasks),
            "worth": judged.worth,
            "labelled": labelled,
            "precision": judged.worth / labelled if labelled else None,
            "unlabelled": [t["fingerprint"] for t in judged.unlabelled],
        }
        if stubs:
            for task in judged.unlabelled:
                print(label_stub(task))
    before = {t["fingerprint"]: t for t in queues["without"]}
    result["demoted_true_criticals"] = [
        t["fingerprint"]
        for t in queues["with"]
        if t["severity"] == "critical"
        and labels.get(t["fingerprint"], {}).get("verdict") == "worth"
        and t["fingerprint"] in before
        and t["priority"] < before[t["fingerprint"]]["priority"]
    ]
    a, b = result["with"]["precision"], result["without"]["precision"]
    result["lift_points"] = None if a is None or b is None else round((a - b) * 100, 1)
    return result


def show(result: dict) -> None:
    made = {k: v for k, v in result["decisions"].items() if k != "fingerprints"}
    print(f"{result['case']}: decisions {made}")
    for store in ("without", "with"):
        r = result[store]
        share = "-" if r["precision"] is None else f"{r['precision']:.0%}"
        print(
            f"  {store:<8} next pair: {r['tasks']} pending; first {TOP}: worth {r['worth']} / "
            f"labelled {r['labelled']} = {share}; unlabelled {len(r['unlabelled'])}"
        )
    lift = result["lift_points"]
    print(f"  lift: {'-' if lift is None else f'{lift:+.1f} points'} (asked: >= +20)")
    print(f"  true criticals demoted: {len(result['demoted_true_criticals'])} (asked: 0)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="only this case")
    parser.add_argument("--stubs", action="store_true", help="print label stubs for unlabelled")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = [args.case] if args.case else [c.name for c in load_cases()]
    results = [run_case(name, args.stubs) for name in names]
    for result in results:
        print(json.dumps(result)) if args.json else show(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
