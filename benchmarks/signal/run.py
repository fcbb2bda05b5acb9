"""Judge controlroom's queue on real release pairs (issue [signal]); see benchmarks/signal/README.md.

Per case, with a fresh store: check out the newer release (commit 2), `controlroom --run-once --commit
<new>`, list the queue in order and take the first 20; then check out the next release (commit 3, the
real fix), analyse it and see which tasks resolved against the diff oracle.

Usage: python benchmarks/signal/run.py [--case NAME] [--json] [--top N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build import CACHE, HERE, Case, build, git, load_cases
from oracles import (
    changed_old_lines,
    changed_since_labelled,
    changelog_reported,
    claim_parts,
    exercised,
    is_untested_claim,
    judge,
    label_stub,
    load_labels,
    location_changed,
    persists,
)
from untested import executed_lines

TOP = 20


def controlroom(repo: Path, db: Path, *args: str) -> str:
    """Run the installed controlroom CLI offline (no LLM key) and return its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    exe = shutil.which("controlroom") or "controlroom"
    done = subprocess.run(
        [exe, *args, "--repo", str(repo), "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"run: controlroom {' '.join(args)} failed ({done.returncode}): {done.stderr}"
        )
    return done.stdout


def queue(
    repo: Path, db: Path, *, everything: bool = False, every_state: bool = False
) -> list[dict]:
    """The open tasks in the order the queue presents them (above the nitpick fold), or with
    ``everything`` also those below ``[queue] min_severity``; ``every_state``: resolved and
    decided tasks too."""
    fold = ["--all-severities"] if everything else []
    states = ["--state", "all"] if every_state else []
    out = controlroom(repo, db, "tasks", "--json", "--limit", "1000000", *fold, *states)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def with_items(db: Path, tasks: list[dict]) -> list[dict]:
    """The tasks, each grouped one with its items (path, line, symbol, its finding's message) as
    the store holds them now."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT ti.task_id, ti.path, ti.line, ti.symbol, (SELECT f.message FROM findings f "
            "WHERE f.fingerprint = ti.fingerprint ORDER BY f.id DESC LIMIT 1) "
            "FROM task_items ti ORDER BY ti.rowid"
        ).fetchall()
    finally:
        con.close()
    items: dict[int, list[dict]] = {}
    for task_id, path, line, symbol, message in rows:
        items.setdefault(task_id, []).append(
            {"path": path, "line": line, "symbol": symbol, "message": message or ""}
        )
    return [{**t, "items": items[t["id"]]} if t.get("id") in items else t for t in tasks]


def analyse(repo: Path, db: Path, ref: str) -> float:
    """Check out `ref` (HEAD moves there) and analyse it; return the seconds it took."""
    git(repo, "checkout", "-q", "--detach", ref)
    started = time.monotonic()
    controlroom(repo, db, "--run-once", "--commit", ref, "--json")
    return time.monotonic() - started


def changed_py(repo: Path, a: str, b: str) -> list[str]:
    """The .py files changed between two refs (added, modified or deleted)."""
    out = git(repo, "diff", "--name-only", a, b, "--", "*.py")
    return [line for line in out.splitlines() if line]


def show(repo: Path, ref: str, path: str) -> str | None:
    """A file's text at a ref, or None when absent."""
    try:
        return git(repo, "show", f"{ref}:{path}")
    except subprocess.CalledProcessError:
        return None


def untested_oracle(case: Case, repo: Path, tasks: list[dict], top: int, labels: dict) -> dict:
    """Check every "not exercised by any test" claim against the coverage of the project's own suite.

    A grouped task claims it for each of its items: each item is one claim. A task of the first `top`
    labelled other than `false` is a conflict when the suite runs it (a group: most of its items).
    """
    claims = [t for t in tasks if is_untested_claim(t)]
    if not claims:
        return {"note": "no untested claims", "claims": 0, "refuted": [], "conflicts": []}
    executed, note = executed_lines(case, repo)
    if executed is None:
        return {"note": note, "claims": len(claims), "refuted": [], "conflicts": []}
    refuted, conflicts, count = [], [], 0
    first = {t["fingerprint"] for t in tasks[:top]}
    for task in claims:
        parts = claim_parts(task)
        ran = []
        for part in parts:
            path = part.get("path") or ""
            if exercised(part, executed.get(path, set()), show(repo, "new", path)):
                ran.append(part)
                refuted.append(_brief(part))
        count += len(parts)
        label = labels.get(task["fingerprint"])
        mostly_ran = bool(ran) and 2 * len(ran) >= len(parts)
        if task["fingerprint"] in first and label and label["verdict"] != "false" and mostly_ran:
            conflicts.append(_brief(task))
    return {"note": note, "claims": count, "refuted": refuted, "conflicts": conflicts}


def run_case(case: Case, top: int, coverage: bool) -> dict:
    """Analyse one case and return its figures."""
    repo = build(case)
    work = CACHE / "runs" / case.name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db = work / "state.db"
    try:
        seconds_new = analyse(repo, db, "new")
        presented = with_items(db, queue(repo, db))
        before = with_items(db, queue(repo, db, everything=True))
        seconds_fix = analyse(repo, db, "fix")
        if case.next:  # a later release too: more real fixes of what `new` flagged
            seconds_fix += analyse(repo, db, "next")
        after = {t["fingerprint"]: t for t in queue(repo, db, everything=True, every_state=True)}
    finally:
        git(repo, "checkout", "-q", "main")
    (work / "tasks-new.jsonl").write_text("".join(json.dumps(t) + "\n" for t in before))

    files = changed_py(repo, "old", "new")
    package_files = [f for f in files if f.startswith("src/")]
    labels = load_labels(HERE / "labels" / f"{case.name}.toml")
    first = presented[:top]  # what the operator sees first; recall and resolution use every task
    judged = judge(first, labels)
    reported = changelog_reported([vars(e) for e in case.expected], before)

    last = "next" if case.next else "fix"
    changes = changed_old_lines(git(repo, "diff", "-U0", "--no-renames", "new", last))
    sources: dict[str, str | None] = {}
    fixed, resolved_ok, wrong = [], [], []
    persisting: list[dict] = []  # touched, but the problem is still there: not a real fix
    later_sha = git(repo, "rev-parse", last).strip()
    for task in before:
        if task["state"] != "pending":
            continue
        path = task.get("path") or ""
        if path not in sources:
            sources[path] = show(repo, "new", path)
        touched = location_changed(task, changes, sources[path])
        resolved = after.get(task["fingerprint"], {}).get("state") == "resolved"
        if touched:
            fixed.append(task)
            if resolved:
                resolved_ok.append(task)
            else:
                seen = after.get(task["fingerprint"], {}).get("last_seen_commit") == later_sha
                why = persists(task, show(repo, last, path), seen, sources[path])
                if why:
                    persisting.append({**_brief(task), "why": why})
        elif resolved:
            wrong.append(task)

    return {
        "case": case.name,
        "releases": f"{case.dist} {case.old} -> {case.new} (fix {case.fix}"
        + (f", then {case.next})" if case.next else ")"),
        "seconds": round(seconds_new + seconds_fix, 1),
        "changed_py": len(files),
        "changed_package_py": len(package_files),
        "tasks": len(before),
        "tasks_per_changed_py": _ratio(len(before), len(files)),
        "tasks_per_changed_package_py": _ratio(len(before), len(package_files)),
        "top": len(first),
        "worth": judged.worth,
        "trivial": judged.trivial,
        "false": judged.false,
        "labelled": judged.labelled,
        "precision": judged.precision,
        "false_critical": [_brief(t) for t in judged.false_critical],
        "unlabelled": [_brief(t) for t in judged.unlabelled],
        "changed_since_labelled": [
            {**_brief(t), "labelled_as": was} for t, was in changed_since_labelled(first, labels)
        ],
        "label_stubs": [label_stub(t) for t in judged.unlabelled],
        "changelog_expected": len(reported),
        "changelog_reported": sum(1 for _, hit in reported if hit is not None),
        "changelog": [
            {**item, "task": None if hit is None else _brief(hit)} for item, hit in reported
        ],
        "fix_touched": len(fixed),
        "auto_resolved": len(resolved_ok),
        "auto_resolution": _ratio(len(resolved_ok), len(fixed)),
        "persisting": persisting,
        "real_fixes": len(fixed) - len(persisting),
        "real_fix_resolution": _ratio(len(resolved_ok), len(fixed) - len(persisting)),
        "wrong_resolutions": [_brief(t) for t in wrong],
        "touched_unresolved": [_brief(t) for t in fixed if t not in resolved_ok],
        "untested_oracle": untested_oracle(case, repo, before, top, labels)
        if coverage
        else {"note": "skipped (--no-coverage)", "claims": 0, "refuted": [], "conflicts": []},
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def _brief(task: dict) -> dict:
    keys = ("fingerprint", "severity", "rule", "path", "line", "symbol", "message")
    return {k: task.get(k) for k in keys}


def total(results: list[dict]) -> dict:
    """The figures summed over every case."""
    s = {k: sum(r[k] for r in results) for k in (
        "changed_py", "changed_package_py", "tasks", "top", "worth", "trivial", "false", "labelled",
        "changelog_expected", "changelog_reported", "fix_touched", "auto_resolved",
        "real_fixes")}  # fmt: skip
    s["tasks_per_changed_py"] = _ratio(s["tasks"], s["changed_py"])
    s["tasks_per_changed_package_py"] = _ratio(s["tasks"], s["changed_package_py"])
    s["precision"] = _ratio(s["worth"], s["labelled"])
    s["false_critical"] = sum(len(r["false_critical"]) for r in results)
    s["unlabelled"] = sum(len(r["unlabelled"]) for r in results)
    s["changed_since_labelled"] = sum(len(r["changed_since_labelled"]) for r in results)
    s["changelog_recall"] = _ratio(s["changelog_reported"], s["changelog_expected"])
    s["auto_resolution"] = _ratio(s["auto_resolved"], s["fix_touched"])
    s["real_fix_resolution"] = _ratio(s["auto_resolved"], s["real_fixes"])
    s["wrong_resolutions"] = sum(len(r["wrong_resolutions"]) for r in results)
    s["untested_claims"] = sum(r["untested_oracle"]["claims"] for r in results)
    s["untested_refuted"] = sum(len(r["untested_oracle"]["refuted"]) for r in results)
    return s


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def print_case(r: dict) -> None:
    print(f"== {r['case']}: {r['releases']}  ({r['seconds']}s)")
    print(f"   changed .py files: {r['changed_py']} (package: {r['changed_package_py']})")
    print(
        f"   tasks: {r['tasks']}  per changed .py: {r['tasks_per_changed_py']}"
        f"  per changed package .py: {r['tasks_per_changed_package_py']}"
    )
    print(
        f"   first {r['top']}: worth {r['worth']}, trivial {r['trivial']}, false {r['false']}"
        f" of {r['labelled']} labelled -> precision {_pct(r['precision'])};"
        f" false critical: {len(r['false_critical'])}"
    )
    for t in r["unlabelled"]:
        print(f"   UNLABELLED {t['fingerprint']} [{t['severity']}] {t['rule']} {t['path']}:{t['line']}"
              f" {t['symbol'] or ''}: {t['message']}")  # fmt: skip
    for t in r["changed_since_labelled"]:
        print(f"   RELABEL {t['fingerprint']}: labelled as {t['labelled_as']!r}, now [{t['severity']}]"
              f" {t['rule']} {t['path']}:{t['line']}: {t['message'][:120]}")  # fmt: skip
    print(
        f"   changelog recall: {r['changelog_reported']}/{r['changelog_expected']}"
        f" ({_pct(_ratio(r['changelog_reported'], r['changelog_expected']))})"
    )
    for item in r["changelog"]:
        mark = "reported" if item["task"] else "MISSED  "
        print(f"     {mark} {item['kind']:<11} {item['name']}")
    print(
        f"   auto-resolution: {r['auto_resolved']}/{r['fix_touched']} tasks whose location the fix"
        f" release changed ({_pct(r['auto_resolution'])}); wrong resolutions:"
        f" {len(r['wrong_resolutions'])}"
    )
    for t in r["wrong_resolutions"][:10]:
        print(f"     WRONG {t['rule']} {t['path']}:{t['line']} {t['symbol'] or ''}")
    print(
        f"   real fixes (touched, and the problem is gone): {r['real_fixes']}, auto-resolved"
        f" {r['auto_resolved']} ({_pct(r['real_fix_resolution'])})"
    )
    why = {(t["path"], t["line"], t["rule"]): t["why"] for t in r["persisting"]}
    for t in r["touched_unresolved"][:10]:
        still = why.get((t["path"], t["line"], t["rule"]))
        print(f"     still open {t['rule']} {t['path']}:{t['line']} {t['symbol'] or ''}"
              + (f" (not a fix: {still})" if still else ""))  # fmt: skip
    u = r["untested_oracle"]
    print(
        f"   untested oracle: {len(u['refuted'])}/{u['claims']} 'not exercised by any test' claims"
        f" refuted by coverage; {u['note']}"
    )
    for t in u["conflicts"]:
        print(
            f"     LABEL CONFLICT (labelled true, suite runs it) {t['fingerprint']} {t['symbol']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="only this case")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--no-coverage",
        action="store_true",
        help="skip the untested oracle (the project's own suite)",
    )
    parser.add_argument(
        "--stubs",
        action="store_true",
        help="print [[label]] stubs for the unlabelled tasks and stop",
    )
    parser.add_argument("--top", type=int, default=TOP, help=f"tasks judged per case ({TOP})")
    args = parser.parse_args(argv)
    cases = [
        c for c in load_cases() if c.name == args.case or (not args.case and not c.operator_only)
    ]
    if not cases:
        raise SystemExit(f"run: no case named {args.case!r}")
    results = [run_case(case, args.top, not args.no_coverage) for case in cases]
    totals = total(results)
    if args.stubs:
        for r in results:
            print(f"# labels/{r['case']}.toml\n" + "\n".join(r["label_stubs"]))
        return 0
    if args.json:
        print(json.dumps({"cases": results, "total": totals}, indent=2))
        return 0
    for r in results:
        print_case(r)
    t = totals
    print("== total")
    print(
        f"   changed .py files: {t['changed_py']} (package: {t['changed_package_py']}); tasks: {t['tasks']}"
    )
    print(f"   tasks per changed .py: {t['tasks_per_changed_py']}"
          f" (per changed package .py: {t['tasks_per_changed_package_py']})")  # fmt: skip
    print(f"   precision of the first {args.top}: {t['worth']}/{t['labelled']} = {_pct(t['precision'])}"
          f" (unlabelled: {t['unlabelled']}, changed since labelled: {t['changed_since_labelled']});"
          f" false critical: {t['false_critical']}")  # fmt: skip
    print(f"   changelog recall: {t['changelog_reported']}/{t['changelog_expected']}"
          f" = {_pct(t['changelog_recall'])}")  # fmt: skip
    print(f"   auto-resolution: {t['auto_resolved']}/{t['fix_touched']} = {_pct(t['auto_resolution'])};"
          f" of real fixes {t['auto_resolved']}/{t['real_fixes']} ="
          f" {_pct(t['real_fix_resolution'])}; wrong resolutions: {t['wrong_resolutions']}")  # fmt: skip
    print(f"   untested claims refuted by the projects' own suites: {t['untested_refuted']}"
          f"/{t['untested_claims']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
