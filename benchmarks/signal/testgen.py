"""The tests agent on the signal harness's release pairs, in each project's own environment.

Per case: the untested oracle's venv (``untested.py``: the suite's requirements and coverage, the
coverage of the project's own suite at ``new``) gets Hypothesis and becomes ``tests.python`` (an
operator ``--config`` file, so the privileged setting applies); ``controlroom --run-once --commit new
--agents tests --json`` analyses the newer release with a fresh store. Figures:

- **offered share**: of the changed public functions (the agent's own notion: changed in meaning,
  public, not in a test module) that the project's suite does not run, the share with an offered
  test (TEST001 with ``suggested_fix``). Target >= 30%.
- **offered tests that pass and kill a mutant**: each offered test's recorded validation and killed
  mutant, and every offered test run again here, outside the agent, with the venv's pytest against
  the tree of ``new``. Target 100%.
- **seconds per offered test**: the agent's own time (``timings_s.total``) over the tests it offered;
  the median over offered tests (each with its case's figure), and every case's agent time over
  every offered test. Target <= 5 s on 2 cores.

Usage: python benchmarks/signal/testgen.py [--case NAME] [--json] [--max-functions N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build import CACHE, Case, build, git, load_cases
from untested import executed_lines

from controlroom.agents.testgen.static import changed_modules
from controlroom.core.git import GitRepository


def project_python(case: Case, repo: Path) -> tuple[Path, dict[str, set[int]]]:
    """The case's venv (the untested oracle's) with Hypothesis, and the suite's executed lines."""
    executed, note = executed_lines(case, repo)
    if executed is None:
        raise SystemExit(f"testgen: {case.name}: no coverage of the project's suite: {note}")
    python = CACHE / "coverage" / f"{case.name}-{case.new}" / "venv" / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import hypothesis"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "hypothesis"], check=True)
    return python, executed


def untested_changed(repo: Path, executed: dict[str, set[int]]) -> dict[str, str]:
    """``dotted name -> path`` of the changed public functions at ``new`` the suite never runs."""
    change = GitRepository(repo).changeset("new")
    listing = git(repo, "ls-tree", "-r", "--name-only", "new").splitlines()
    init_files = {p for p in listing if p.endswith("/__init__.py") or p == "__init__.py"}
    result = {}
    for module in changed_modules(change, init_files):
        ran = executed.get(module.file.path, set())
        for f in module.changed:
            if not any(line in ran for line in f.body_lines):
                result[f.dotted] = f.path
    return result


def analyse(repo: Path, python: Path, work: Path, max_functions: int | None) -> dict:
    """The tests agent alone on ``new``, in the project's venv; the JSON report."""
    config = work / "controlroom.toml"
    lines = ["[tests]", f'python = "{python}"']
    if max_functions is not None:
        lines.append(f"max_functions = {max_functions}")
    config.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    exe = shutil.which("controlroom") or "controlroom"
    done = subprocess.run(
        [exe, "--run-once", "--commit", "new", "--agents", "tests", "--json", "--rerun",
         "--config", str(config), "--repo", str(repo), "--db", str(work / "state.db")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode not in (0, 1):
        raise SystemExit(f"testgen: controlroom failed ({done.returncode}): {done.stderr[-500:]}")
    return json.loads(done.stdout)


def with_extra(db: Path, findings: list[dict]) -> list[dict]:
    """The report's findings with their ``extra`` from the store (the report leaves it out)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT fingerprint, extra_json FROM findings WHERE agent = 'tests'"
        ).fetchall()
    finally:
        con.close()
    extra = {fp: json.loads(text) for fp, text in rows}
    return [{**f, "extra": extra.get(f["fingerprint"], {})} for f in findings]


def rerun_offered(case: Case, python: Path, offered: list[dict]) -> dict[str, str]:
    """Every offered test run again with the venv's pytest on the tree of ``new``: name -> outcome."""
    tree = CACHE / "coverage" / f"{case.name}-{case.new}" / "tree"
    outcomes = {}
    with tempfile.TemporaryDirectory(prefix="testgen-rerun-") as tmp:
        box = Path(tmp)
        (box / "pytest.ini").write_text("[pytest]\n")
        names = {}
        for i, finding in enumerate(offered):
            name = f"test_offered_{i}.py"
            (box / name).write_text(finding["suggested_fix"])
            names[name.removesuffix(".py")] = finding["extra"]["function"]
        report = box / "report.xml"
        env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
        subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(box / "pytest.ini"),
             "--rootdir", str(box), f"--junitxml={report}", *map(str, sorted(box.glob("test_*.py")))],
            cwd=tree, env=env, capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        import xml.etree.ElementTree as ET

        failed: set[str] = set()
        seen: set[str] = set()
        if report.is_file():
            for case_el in ET.parse(report).getroot().iter("testcase"):
                module = case_el.get("classname", "").split(".")[0]
                seen.add(module)
                if any(child.tag in ("failure", "error") for child in case_el):
                    failed.add(module)
        for module, function in names.items():
            outcomes[function] = (
                "failed" if module in failed else "passed" if module in seen else "did not run"
            )
    return outcomes


def run_case(case: Case, max_functions: int | None) -> dict:
    repo = build(case)
    python, executed = project_python(case, repo)
    candidates = untested_changed(repo, executed)
    work = CACHE / "testgen" / case.name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    report = analyse(repo, python, work, max_functions)
    findings = with_extra(
        work / "state.db",
        [f for c in report["commits"] for f in c["findings"] if f["agent"] == "tests"],
    )
    run = next((a for c in report["commits"] for a in c["agents"] if a["agent"] == "tests"), {})
    metrics = run.get("metrics") or {}
    offered = [f for f in findings if f["rule"] == "TEST001" and f.get("suggested_fix")]
    offered_names = {f["extra"]["function"] for f in offered}
    killed = [f for f in offered if ((f["extra"].get("mutation") or {}).get("killed"))]
    passed = [f for f in offered if (f["extra"].get("validation") or {}).get("status") == "passed"]
    strong = {f["extra"]["function"] for f in killed} & {f["extra"]["function"] for f in passed}
    rerun = rerun_offered(case, python, offered) if offered else {}
    seconds = (metrics.get("timings_s") or {}).get("total")
    why: dict[str, int] = {}
    for f in findings:
        if f["rule"] == "TEST001" and not f.get("suggested_fix"):
            reason = (f["extra"].get("not_offered") or "?").split(":")[0][:60]
            if f["extra"]["function"] in candidates:
                why[reason] = why.get(reason, 0) + 1
    flagged = {f["extra"]["function"] for f in findings if f["rule"] == "TEST001"}
    reasons = {f["extra"]["function"]: f["extra"].get("not_offered") for f in findings
               if f["rule"] == "TEST001"}  # fmt: skip
    per_function = {
        name: "offered" if name in offered_names else (reasons.get(name) or "not flagged")[:150]
        for name in sorted(candidates)
    }
    return {
        "case": case.name,
        "releases": f"{case.dist} {case.old} -> {case.new}",
        "untested_changed": len(candidates),
        "flagged_of_those": len(flagged & set(candidates)),
        "offered": len(offered),
        "offered_of_untested": len(offered_names & set(candidates)),
        "offered_share": _ratio(len(offered_names & set(candidates)), len(candidates)),
        "offered_pass_and_kill": _ratio(len(strong), len(offered)),
        "rerun_passed": sum(1 for v in rerun.values() if v == "passed"),
        "rerun": rerun,
        "agent_seconds": seconds,
        "seconds_per_offered": round(seconds / len(offered), 2) if offered and seconds else None,
        "changed_line_coverage": metrics.get("changed_line_coverage"),
        "environment": (metrics.get("environment") or {}).get("source"),
        "agent_status": f"{run.get('status')} in {run.get('duration_s')}s {run.get('error') or ''}",
        "too_weak": metrics.get("too_weak"),
        "validation": metrics.get("validation"),
        "not_offered": dict(sorted(why.items(), key=lambda kv: -kv[1])),
        "functions": per_function,
        "problems": [f["message"] for f in findings if f["rule"] in ("TEST002", "TEST003")][:5],
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="only this case")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--max-functions", type=int, help="tests.max_functions (default: the packaged one)"
    )
    args = parser.parse_args(argv)
    cases = [
        c for c in load_cases() if c.name == args.case or (not args.case and not c.operator_only)
    ]
    if not cases:
        raise SystemExit(f"testgen: no case named {args.case!r}")
    results = []
    for case in cases:
        r = run_case(case, args.max_functions)
        results.append(r)
        if not args.json:
            print(f"== {r['case']}: {r['releases']} (environment: {r['environment']};"
                  f" agent {r['agent_status']})")  # fmt: skip
            print(f"   changed public functions the suite never runs: {r['untested_changed']}"
                  f" (flagged by the agent: {r['flagged_of_those']})")  # fmt: skip
            print(f"   offered for them: {r['offered_of_untested']} -> {_pct(r['offered_share'])};"
                  f" offered in all: {r['offered']}; too weak: {r['too_weak']}")  # fmt: skip
            print(f"   offered tests passing and killing a mutant: {_pct(r['offered_pass_and_kill'])};"
                  f" passing again outside the agent: {r['rerun_passed']}/{r['offered']}")  # fmt: skip
            print(f"   agent seconds: {r['agent_seconds']}; per offered test:"
                  f" {r['seconds_per_offered']}; changed-line coverage: {r['changed_line_coverage']}")  # fmt: skip
            print(f"   validation: {r['validation']}; why not offered: {r['not_offered']}")
            for name, outcome in r["functions"].items():
                print(f"     {name}: {outcome}")
            for p in r["problems"]:
                print(f"   {p[:160]}")
            sys.stdout.flush()
    # Each offered test counts once, with its case's agent seconds per offered test.
    per_offered = [r["seconds_per_offered"] for r in results for _ in range(r["offered"])
                   if r["seconds_per_offered"]]  # fmt: skip
    seconds = sum(r["agent_seconds"] or 0.0 for r in results)
    untested = sum(r["untested_changed"] for r in results)
    offered_untested = sum(r["offered_of_untested"] for r in results)
    total = {
        "untested_changed": untested,
        "offered_of_untested": offered_untested,
        "offered_share": _ratio(offered_untested, untested),
        "offered": sum(r["offered"] for r in results),
        "rerun_passed": sum(r["rerun_passed"] for r in results),
        "median_seconds_per_offered": statistics.median(per_offered) if per_offered else None,
        "agent_seconds": round(seconds, 1),
        "agent_seconds_per_offered": _ratio(seconds, sum(r["offered"] for r in results)),
    }
    if args.json:
        print(json.dumps({"cases": results, "total": total}, indent=2))
    else:
        print(f"== total: offered for {offered_untested}/{untested} changed public functions the"
              f" suites never run ({_pct(total['offered_share'])}); offered tests passing again:"
              f" {total['rerun_passed']}/{total['offered']}; median seconds per offered test:"
              f" {total['median_seconds_per_offered']}; all agent seconds / offered tests:"
              f" {total['agent_seconds']}/{total['offered']} = {total['agent_seconds_per_offered']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
