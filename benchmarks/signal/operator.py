"""A simulated operator (issue [learning]): does learning from 20 decisions on one release pair
lift the next release pair's queue?

Per case with a ``next`` release (cases.toml), two fresh stores analyse the same commits with the
installed ``controlroom``: ``new`` (the first pair, old -> new), ``fix``, then ``next`` (the next
pair, fix -> next).
- *with*: right after ``new``, the operator decides the first 20 pending tasks of the full listing
  (``tasks --all-severities``: the nitpicks below the fold are what an operator rejects) in queue
  order, from the hand labels: ``false`` or ``trivial``: reject with the verdict as reason;
  ``worth``: approve; unlabelled: skipped and counted (label them first);
- *without*: no decision.
The next pair's queue is every pending task the analysis of ``next`` raised or saw again (its
``last_seen_commit``), in the order of the full listing, without the tasks the operator decided
(so both stores rank the same tasks and only learning orders them differently). Printed per
store: worth / labelled over its first 20 (``false`` for a critical not labelled worth, as run.py
counts), unlabelled tasks (label them in ``labels/<case>.toml``; ``--stubs`` prints entries for
both pairs), the difference in points (the issue asks >= 20), and every critical labelled
``worth`` whose priority is lower with the decisions than without, or that left the first 20
(asked: none). Also per store: the same figure over the default listing, what the operator sees
above the nitpick fold (learning hides a task it demoted below the fold's lowest priority,
docs/learning.md), and its difference ("lift above the fold").

``--user-config FILE`` runs every command with FILE as the operator's user config (a temporary
``XDG_CONFIG_HOME``), e.g. ``wide-critic.toml``: a team that selects more of ruff's rules than the
packaged defaults, whose noise is what an operator teaches the queue to drop. Its runs are kept apart
(``runs/<case>/operator-<stem>``).

Usage: python benchmarks/signal/operator.py [--case NAME] [--user-config FILE] [--stubs] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build import CACHE, HERE, build, git, load_cases
from oracles import judge, label_stub, load_labels
from run import analyse, controlroom, queue

TOP = 20
REJECT = {"false", "trivial"}


def pending(tasks: list[dict]) -> list[dict]:
    return [t for t in tasks if t["state"] == "pending"]


def replay(repo: Path, db: Path, tasks: list[dict], labels: dict) -> dict:
    """Decide the first ``TOP`` pending tasks as the labels say; returns what was done."""
    done: dict = {"approved": 0, "rejected": 0, "unlabelled": 0, "fingerprints": []}
    for task in pending(tasks)[:TOP]:
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


def next_pair(tasks: list[dict], seen_in: str, decided: set[str]) -> list[dict]:
    """The next pair's pending tasks in queue order: seen by the analysis of ``seen_in``, not
    decided by the operator (so both stores rank the same tasks)."""
    return [
        t
        for t in pending(tasks)
        if t["last_seen_commit"] == seen_in and t["fingerprint"] not in decided
    ]


def use_user_config(path: Path) -> str:
    """Make ``path`` the user config of every controlroom this process runs; returns its stem."""
    home = Path(tempfile.mkdtemp(prefix="operator-xdg-"))
    (home / "controlroom").mkdir()
    shutil.copyfile(path, home / "controlroom" / "config.toml")
    os.environ["XDG_CONFIG_HOME"] = str(home)
    return path.stem


def run_case(name: str, stubs: bool, variant: str = "") -> dict:
    case = next(c for c in load_cases() if c.name == name)
    if not case.next:
        raise SystemExit(f"operator: case {name!r} has no `next` release in cases.toml")
    repo = build(case)
    labels = load_labels(HERE / "labels" / f"{case.name}.toml")
    folder = CACHE / "runs" / case.name / ("operator-" + variant if variant else "operator")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    result: dict = {"case": case.name, "config": variant or "packaged defaults", "first": f"{case.old} -> {case.new}",
                    "next": f"{case.fix} -> {case.next}"}  # fmt: skip
    queues: dict[str, list[dict]] = {}
    folds: dict[str, list[dict]] = {}  # what the operator sees: the listing above the fold
    first_pair: list[dict] = []
    try:
        seen_in = git(repo, "rev-parse", "next").strip()
        for store in ("with", "without"):
            db = folder / f"{store}.db"
            analyse(repo, db, "new")
            if store == "with":
                first_pair = pending(queue(repo, db, everything=True))
                result["decisions"] = replay(repo, db, first_pair, labels)
            analyse(repo, db, "fix")
            analyse(repo, db, "next")
            tasks = queue(repo, db, everything=True)
            (folder / f"tasks-next-{store}.jsonl").write_text(
                "".join(json.dumps(t) + "\n" for t in tasks)
            )
            decided = set(result["decisions"]["fingerprints"])
            queues[store] = next_pair(tasks, seen_in, decided)
            folds[store] = next_pair(queue(repo, db), seen_in, decided)  # the default listing
    finally:
        git(repo, "checkout", "-q", "main")
    result["first_pair_tasks"] = len(first_pair)
    if stubs:
        print(f"# labels/{case.name}.toml: first pair ({case.old} -> {case.new}), decided")
        for task in first_pair[:TOP]:
            if task["fingerprint"] not in labels:
                print(label_stub(task))
    for store, tasks in queues.items():
        judged = judge(tasks[:TOP], labels)
        result[store] = {
            "tasks": len(tasks),
            "worth": judged.worth,
            "labelled": judged.labelled,
            "precision": judged.precision,
            "false_critical": len(judged.false_critical),
            "unlabelled": [t["fingerprint"] for t in judged.unlabelled],
        }
        shown = judge(folds[store][:TOP], labels)
        result[store]["fold"] = {
            "shown": len(folds[store]),
            "worth": shown.worth,
            "labelled": shown.labelled,
            "precision": shown.precision,
        }
        if stubs:
            print(f"# labels/{case.name}.toml: next pair ({case.fix} -> {case.next}), {store}")
            for task in judged.unlabelled:
                print(label_stub(task))
    result["demoted_true_criticals"] = demoted_true_criticals(
        queues["without"], queues["with"], labels
    )
    a, b = result["with"]["precision"], result["without"]["precision"]
    result["lift_points"] = None if a is None or b is None else round((a - b) * 100, 1)
    a, b = result["with"]["fold"]["precision"], result["without"]["fold"]["precision"]
    result["fold_lift_points"] = None if a is None or b is None else round((a - b) * 100, 1)
    return result


def demoted_true_criticals(without: list[dict], with_: list[dict], labels: dict) -> list[str]:
    """Criticals labelled ``worth`` ranked lower with the decisions: a lower priority, or in the
    first ``TOP`` without the decisions and not with them."""
    before = {t["fingerprint"]: t for t in without}
    top_with = {t["fingerprint"] for t in with_[:TOP]}
    top_without = {t["fingerprint"] for t in without[:TOP]}
    return [
        t["fingerprint"]
        for t in with_
        if t["severity"] == "critical"
        and labels.get(t["fingerprint"], {}).get("verdict") == "worth"
        and t["fingerprint"] in before
        and (
            t["priority"] < before[t["fingerprint"]]["priority"]
            or (t["fingerprint"] in top_without and t["fingerprint"] not in top_with)
        )
    ]


def show(result: dict) -> None:
    made = {k: v for k, v in result["decisions"].items() if k != "fingerprints"}
    print(f"{result['case']} ({result['config']}): first pair {result['first']} ({result['first_pair_tasks']} tasks),"
          f" decisions {made}")  # fmt: skip
    print(f"  next pair {result['next']}:")
    for store in ("without", "with"):
        r = result[store]
        share = "-" if r["precision"] is None else f"{r['precision']:.0%}"
        print(
            f"  {store:<8} {r['tasks']} pending; first {TOP}: worth {r['worth']} / "
            f"labelled {r['labelled']} = {share}; unlabelled {len(r['unlabelled'])}"
        )
        f = r["fold"]
        share = "-" if f["precision"] is None else f"{f['precision']:.0%}"
        print(f"           above the fold: {f['shown']} shown; first {TOP}: worth {f['worth']} / "
              f"labelled {f['labelled']} = {share}")  # fmt: skip
    lift = result["lift_points"]
    print(f"  lift: {'-' if lift is None else f'{lift:+.1f} points'} (asked: >= +20)")
    lift = result["fold_lift_points"]
    print(f"  lift above the fold: {'-' if lift is None else f'{lift:+.1f} points'}")
    print(f"  true criticals demoted: {len(result['demoted_true_criticals'])} (asked: 0)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="only this case")
    parser.add_argument("--stubs", action="store_true", help="print label stubs for unlabelled")
    parser.add_argument("--user-config", type=Path, help="the operator's user config (TOML)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    variant = use_user_config(args.user_config) if args.user_config else ""
    names = [args.case] if args.case else [c.name for c in load_cases() if c.next]
    results = [run_case(name, args.stubs, variant) for name in names]
    for result in results:
        print(json.dumps(result)) if args.json else show(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
