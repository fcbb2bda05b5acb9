"""Validation: run one generated test with pytest in the sandbox and classify the result.

Each test gets its own directory in the worktree with a ``pytest.ini`` (so the repository's own
pytest configuration and conftest files stay out), a ``conftest.py`` loading a Hypothesis profile
(derandomized, no example database, no deadline). pytest writes its JUnit report to the sandbox's
result pipe (``RESULT_PATH``), not to a file: nothing the test writes in the worktree is read back.
The report must carry this run's random suite name. A run counts as finished only when pytest wrote
that report: a test that calls ``os._exit(0)`` does not pass.
"""

from __future__ import annotations

import re
import secrets
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlroom.agents.testgen.sandbox import RESULT_PATH, Limits, run_sandboxed

PASSED, FAILED, ERRORED, TIMED_OUT = "passed", "failed", "errored", "timed out"
FAILING_EXAMPLE = re.compile(
    r"(?:Failing test case|Falsifying example): (\w+\((?:.|\n)*?\n\))", re.MULTILINE
)
HYPOTHESIS_ERRORS = ("FailedHealthCheck", "InvalidArgument", "Unsatisfiable", "ResolutionFailed")
CONFTEST = """\
from hypothesis import HealthCheck, settings

settings.register_profile(
    "controlroom",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples={max_examples},
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("controlroom")
"""


@dataclass(slots=True)
class Validation:
    status: str  # passed | failed | errored | timed out
    output: str  # the tail of pytest's output
    duration_s: float
    failing_example: str | None = None
    message: str | None = None  # the failure's first line, e.g. "AssertionError: ('Ā', '?')"
    confinement: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "output": self.output,
            "duration_s": self.duration_s,
            "failing_example": self.failing_example,
            "message": self.message,
            "confinement": self.confinement,
        }


def suite_name() -> str:
    """A fresh JUnit suite name: a report without it was not written by this run's pytest."""
    return f"controlroom-{secrets.token_hex(8)}"


def junit_suite(text: str, suite_name: str) -> ET.Element | None:
    """The one ``testsuite`` of a JUnit report named ``suite_name``; None for anything else."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if len(suites) != 1 or suites[0].get("name") != suite_name:
        return None
    return suites[0]


def _report(text: str, suite_name: str) -> tuple[dict[str, int], str] | None:
    """Counts and the first failure's text from a JUnit report; None when there is none."""
    suite = junit_suite(text, suite_name)
    if suite is None:
        return None
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    text = ""
    for element in suite.iter():
        if element.tag in ("failure", "error"):
            text = f"{element.get('message', '')}\n{element.text or ''}"
            break
    return counts, text


def classify(
    returncode: int | None, timed_out: bool, report: tuple[dict[str, int], str] | None, output: str
) -> tuple[str, str | None, str | None]:
    """``(status, failing example, message)`` of one run."""
    if timed_out:
        return TIMED_OUT, None, None
    if report is None:
        return ERRORED, None, f"pytest did not finish (exit status {returncode}, no report)"
    counts, text = report
    message = text.strip().splitlines()[0][:300] if text.strip() else None
    if counts["errors"] or counts["tests"] == 0 or counts["skipped"] == counts["tests"]:
        return ERRORED, None, message or "no test ran"
    if counts["failures"]:
        example = FAILING_EXAMPLE.search(text) or FAILING_EXAMPLE.search(output)
        if example and not any(err in text for err in HYPOTHESIS_ERRORS):
            return FAILED, example.group(1), message
        return ERRORED, None, message
    return (PASSED, None, None) if returncode == 0 else (ERRORED, None, f"exit {returncode}")


def prepare_box(box: Path, max_examples: int) -> None:
    box.mkdir(parents=True, exist_ok=True)
    (box / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (box / "conftest.py").write_text(CONFTEST.format(max_examples=max_examples), "utf-8")


def pytest_argv(
    box: Path,
    tests: list[Path],
    report: str | Path = RESULT_PATH,
    *,
    verbose: bool = False,
    suite: str = "pytest",
    python: str = "",
) -> list[str]:
    """pytest confined to ``box``: its ini and conftest only, no cache, a JUnit report named
    ``suite`` (to the result pipe unless ``report`` says otherwise)."""
    return [
        python or sys.executable,
        "-m",
        "pytest",
        "-v" if verbose else "-q",
        "-p",
        "no:cacheprovider",
        "-c",
        str(box / "pytest.ini"),
        "--rootdir",
        str(box),
        "--confcutdir",
        str(box),
        "-o",
        f"junit_suite_name={suite}",
        f"--junitxml={report}",
        *map(str, tests),
    ]


async def validate(
    worktree: Path,
    box: Path,
    code: str,
    test_name: str,
    python_path: list[str],
    limits: Limits,
    max_examples: int = 100,
) -> Validation:
    """Run ``code`` as ``box/test_name`` with pytest in the sandbox; never raises for a bad test."""
    prepare_box(box, max_examples)
    test_path = box / test_name
    test_path.write_text(code, encoding="utf-8")
    suite = suite_name()
    result = await run_sandboxed(
        box,
        mode="exec",
        writable=[worktree],
        limits=limits,
        python_path=python_path,
        cwd=worktree,
        argv=pytest_argv(box, [test_path], suite=suite, python=limits.interpreter),
    )
    report = _report(result.report, suite)
    status, example, message = classify(result.returncode, result.timed_out, report, result.output)
    return Validation(
        status, result.output, result.duration_s, example, message, result.confinement
    )
