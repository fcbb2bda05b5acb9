"""Validate a commit's generated tests in one pytest run, isolating only what that run cannot tell.

One sandboxed pytest process runs every test file (a pytest start costs far more than a typical
generated test). When it finishes with its JUnit report (from the result pipe, named for this run),
each file's result comes from the report. When it does not (a test looped until the timeout, exited
the interpreter, or was killed), the unbuffered ``-v`` progress says which file was running: that
file is the culprit (timed out, or "did not finish"). The progress is the tests' own stdout, which
they can forge, so it never makes a test pass: every other file is run again on its own, in parallel.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from controlroom.agents.testgen.run import (
    ERRORED,
    TIMED_OUT,
    Validation,
    classify,
    junit_suite,
    prepare_box,
    pytest_argv,
    suite_name,
    validate,
)
from controlroom.agents.testgen.sandbox import Limits, run_sandboxed

PROGRESS = re.compile(
    r"^(?:\S*/)?(test_[\w.]+?\.py)::(\S+)(?: (PASSED|FAILED|ERROR|SKIPPED)\b)?", re.M
)


@dataclass(frozen=True, slots=True)
class TestFile:
    key: str
    file_name: str  # unique within the batch: test_*.py
    code: str
    python_path: tuple[str, ...]


def _cases(report: str, suite: str) -> dict[str, tuple[dict[str, int], str, float]] | None:
    """Per test file (JUnit ``classname``, the module's name): counts, failure text, seconds."""
    root = junit_suite(report, suite)
    if root is None:
        return None
    cases: dict[str, tuple[dict[str, int], str, float]] = {}
    for case in root.iter("testcase"):
        module = case.get("classname", "").split(".")[0]
        counts, text, seconds = cases.get(
            module, ({"tests": 0, "failures": 0, "errors": 0, "skipped": 0}, "", 0.0)
        )
        counts["tests"] += 1
        for child in case:
            kind = {"failure": "failures", "error": "errors", "skipped": "skipped"}.get(child.tag)
            if kind:
                counts[kind] += 1
                if kind != "skipped" and not text:
                    text = f"{child.get('message', '')}\n{child.text or ''}"
        cases[module] = (counts, text, seconds + float(case.get("time", "0") or 0))
    return cases


async def validate_many(
    worktree: Path,
    workdir: Path,
    tests: list[TestFile],
    limits: Limits,
    max_examples: int,
    concurrency: int,
) -> dict[str, Validation]:
    """``key -> Validation`` for every test; never raises for a bad test."""
    if not tests:
        return {}
    box = workdir / "batch"
    prepare_box(box, max_examples)
    paths = []
    for test in tests:
        (box / test.file_name).write_text(test.code, encoding="utf-8")
        paths.append(box / test.file_name)
    python_path = list(dict.fromkeys(p for t in tests for p in t.python_path))
    suite = suite_name()
    result = await run_sandboxed(
        box,
        mode="exec",
        writable=[worktree],
        limits=limits,
        python_path=python_path,
        cwd=worktree,
        # One file that fails to import must not stop the others: it alone is run again.
        argv=[
            *pytest_argv(box, paths, verbose=True, suite=suite, python=limits.interpreter),
            "--continue-on-collection-errors",
        ],
    )
    cases = _cases(result.report, suite)
    done: dict[str, Validation] = {}
    rerun: list[TestFile] = []
    if cases is not None and len(tests) > 0:
        for test in tests:
            case = cases.get(test.file_name.removesuffix(".py"))
            if case is None:
                rerun.append(test)
                continue
            counts, text, seconds = case
            rc = 0 if not (counts["failures"] or counts["errors"]) else 1
            status, example, message = classify(rc, False, (counts, text), text)
            output = text[-4000:] if text else "passed"
            done[test.key] = Validation(
                status, output, round(seconds, 3), example, message, result.confinement
            )
    else:
        rerun = _after_incomplete_run(tests, result.output, result.timed_out, done, result)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def alone(index: int, test: TestFile) -> None:
        async with gate:
            done[test.key] = await validate(
                worktree,
                workdir / f"run-{index}",
                test.code,
                test.file_name,
                list(test.python_path),
                limits,
                max_examples,
            )

    await asyncio.gather(*(alone(i, t) for i, t in enumerate(rerun)))
    return done


def _after_incomplete_run(
    tests: list[TestFile], output: str, timed_out: bool, done: dict[str, Validation], result
) -> list[TestFile]:
    """Record the culprit the progress shows; return the tests to run alone (all the others:
    a PASSED in the progress is the tests' own stdout, so it is not trusted)."""
    by_file = {t.file_name: t for t in tests}
    statuses: dict[str, str | None] = {}
    for match in PROGRESS.finditer(output):
        statuses[match.group(1)] = match.group(3)
    started = [name for name in statuses if name in by_file]
    culprit = started[-1] if started and statuses[started[-1]] is None else None
    rerun = []
    for test in tests:
        if test.file_name == culprit and (not timed_out or started[0] == culprit):
            # It had the whole run to itself (or ended it): no need to run it again.
            status_text = TIMED_OUT if timed_out else ERRORED
            message = None if timed_out else "pytest did not finish (no report)"
            done[test.key] = Validation(
                status_text, output[-4000:], result.duration_s, None, message, result.confinement
            )
        else:
            rerun.append(test)
    return rerun
