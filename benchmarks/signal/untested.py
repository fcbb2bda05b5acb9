"""The "untested" oracle: the project's own test suite under coverage, at the newer release.

Per case, once (cached in ``benchmarks/.cache/signal/coverage/<case>-<new>/``): a venv with the suite's
requirements (``test_deps`` in cases.toml) and coverage, the tree of commit ``new`` exported with
``git archive``, ``coverage run -m pytest`` with ``PYTHONPATH=src``, and the executed lines as JSON.
A failing test does not stop the run; a suite that cannot be set up yields None and a reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

from build import CACHE, Case

SUITE_TIMEOUT = 900.0


def executed_lines(case: Case, repo: Path) -> tuple[dict[str, set[int]] | None, str]:
    """Lines the suite executed, by repository path, and a one-line note on how they were obtained."""
    work = CACHE / "coverage" / f"{case.name}-{case.new}"
    result = work / "coverage.json"
    if not result.is_file():
        note = _measure(case, repo, work, result)
        if note:
            return None, note
    data = json.loads(result.read_text())
    lines = {path: set(info["executed_lines"]) for path, info in data["files"].items()}
    summary = data.get("meta", {}).get("harness_summary", "")
    return lines, f"coverage of the project's own suite at {case.new} ({summary})"


def _measure(case: Case, repo: Path, work: Path, result: Path) -> str | None:
    work.mkdir(parents=True, exist_ok=True)
    venv = work / "venv"
    python = venv / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "coverage", *case.test_deps],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        return (
            f"skipped: the suite's requirements did not install: {installed.stderr.strip()[-200:]}"
        )
    tree = work / "tree"
    if not tree.is_dir():
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "new"], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("ANTHROPIC_")}
    sources = ",".join(f"src/{p}" for p in case.packages)
    try:
        ran = subprocess.run(
            [str(python), "-m", "coverage", "run", f"--source={sources}", "-m", "pytest", "-q",
             "-p", "no:cacheprovider", "-p", "no:warnings", *case.test_args, case.tests],
            cwd=tree, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"skipped: the suite ran longer than {SUITE_TIMEOUT:.0f}s"
    tail = ran.stdout.strip().splitlines()[-1:] or ["no output"]
    if ran.returncode not in (0, 1):
        return f"skipped: pytest exited {ran.returncode}: {tail[0][:200]}"
    subprocess.run(
        [str(python), "-m", "coverage", "json", "-q", "-o", str(result)],
        cwd=tree, env=env, check=True, capture_output=True,
    )  # fmt: skip
    data = json.loads(result.read_text())
    data.setdefault("meta", {})["harness_summary"] = tail[0][:200]
    result.write_text(json.dumps(data))
    return None
