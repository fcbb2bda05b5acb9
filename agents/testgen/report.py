"""What the test generator reports: TEST001 (untested, with the test it offers or why none),
TEST002 (a generated property test fails: a possible bug), TEST003 (the environment cannot run
tests), and the run's metrics."""

from __future__ import annotations

import re
from typing import Any

from controlroom.agents.testgen.env import Environment
from controlroom.agents.testgen.find import Resolution
from controlroom.agents.testgen.refusals import refusal
from controlroom.agents.testgen.run import FAILED, PASSED, Validation
from controlroom.agents.testgen.static import FunctionInfo
from controlroom.agents.testgen.strength import Strength
from controlroom.agents.testgen.write import GeneratedTest
from controlroom.core.model import Finding, Severity

BUG_CONFIDENCE = {"roundtrip": 0.8, "idempotent": 0.75, "equivalent": 0.8, "returns": 0.7}


def untested_claim(mode: str) -> str:
    """What the evidence supports: coverage data says "not exercised"; the static index only sees
    direct references (a call through an instance, a fixture or a tested caller escapes it)."""
    if mode == "coverage":
        return "is not exercised by any test"
    return "has no direct test reference (static index: a caller, fixture or instance may reach it)"


def untested_finding(
    function: FunctionInfo,
    found: Resolution,
    pair: tuple[GeneratedTest, Validation | None] | None,
    config: dict[str, Any],
    strength: Strength | None = None,
    covered: Any = None,
) -> Finding:
    """TEST001 for an untested function, with the test offered (or why none is), or TEST002 when
    its generated property test fails."""
    figure = found.figures.get(function.path)
    figure_text = ""
    if figure is not None and figure.pct is not None:
        what = "line coverage" if figure.unit == "lines" else "public functions tested"
        figure_text = f" ({function.module}: {figure.pct:g}% {what})"
    test, validation = pair if pair else (None, None)
    extra: dict[str, Any] = {
        "function": function.dotted,
        "module": function.module,
        "coverage": figure.as_dict() | {"mode": found.mode} if figure else None,
        "test_code": test.code if test else None,
        "test_path": f"tests/{test_file_name(function)}",
        "property": test.prop if test else None,
        "documented_raises": test.documented_raises if test else [],
        "validation": validation.as_dict() if validation else None,
        "not_offered": None,
        "mutation": strength.as_dict() if strength else None,
    }
    finding = Finding(
        agent="tests",
        rule="TEST001",
        severity=Severity.parse(str(config["severity"])),
        path=function.path,
        line=function.line,
        end_line=function.end_line,
        symbol=function.qualname,
        snippet=function.snippet,
        message=f"{function.qualname} {untested_claim(found.mode)}{figure_text}",
        confidence=0.8 if found.mode == "coverage" else 0.6,
        extra=extra,
    )
    if validation is not None and validation.status == PASSED and too_weak(strength):
        extra["not_offered"] = weak_reason(function, strength)
        finding.message += f"; no test offered: {extra['not_offered']}"
    elif validation is not None and validation.status == PASSED:
        # A passing test that catches a mutant is work to merge, not a notice (docs/agents-tests.md),
        # unless the function is one plain statement (its test pins one line), or a method only
        # the static index calls untested (the suite often reaches it through an instance).
        nitpick = nitpick_reason(function, found.mode)
        if nitpick is None:
            finding.severity = Severity.parse(str(config["offered_severity"]))
        finding.suggested_fix = test.code if test else None
        finding.message += f"; a generated {test.prop if test else ''} property test passes"
        if strength is not None and strength.killed is not None:
            finding.message += f" and catches the mutant {strength.killed.description}"
        if covered is not None:  # linecov.ChangedLineCoverage
            extra["changed_line_coverage"] = covered.as_dict()
            finding.message += f"; {covered.summary()}"
        if nitpick is not None:
            finding.message += f" ({nitpick}: ranked as a nitpick)"
    elif (
        validation is not None and validation.status == FAILED and test and test.prop == "observed"
    ):
        # Values seen at the commit that differ when the test runs at the same commit: the
        # behaviour depends on the run (time, randomness, the environment), not a bug.
        extra["not_offered"] = (
            "the observed behaviour differs from run to run: "
            f"{validation.message or 'the test fails at the commit'}"
        )
        finding.message += f"; no test offered: {extra['not_offered']}"
    elif (
        validation is not None
        and validation.status == FAILED
        and test is not None
        and (refused := refusal(validation.output, validation.failing_example or "", function))
    ):
        # The code refused a made-up input on purpose (an assert, a raise): not a bug.
        extra["not_offered"] = refused
        finding.message += f"; no test offered: {refused}"
    elif validation is not None and validation.status == FAILED and test is not None:
        finding.rule = "TEST002"
        finding.severity = Severity.parse(str(config["bug_severity"]))
        finding.confidence = BUG_CONFIDENCE.get(test.prop or "", 0.5)
        finding.message = (
            f"possible bug in {function.qualname}: its generated {test.prop} test fails"
            f" ({validation.message or 'failure'}) with {one_line(validation.failing_example)}"
        )
        extra["not_offered"] = "the generated test fails"
    else:
        extra["not_offered"] = why_not(function, test, validation, config, found.analyze_all)
        finding.message += f"; no test offered: {extra['not_offered']}"
    return finding


def nitpick_reason(function: FunctionInfo, mode: str) -> str | None:
    """Why an offered test is ranked as a nitpick (low, grouped), or None (medium: work to merge).

    Only strong evidence makes it work to merge: coverage data saying the function never ran, or
    a module-level function no test calls (a direct call is what the static index sees well).
    A method's calls usually go through an instance a fixture or a runner made, which the index
    cannot follow (on real suites most such "untested" methods ran)."""
    if function.one_statement:
        return "a one-statement function"
    if mode != "coverage" and function.is_method:
        return "a method the suite may reach through an instance"
    return None


def why_not(
    function: FunctionInfo,
    test: GeneratedTest | None,
    validation: Validation | None,
    config: dict[str, Any],
    analyze_all: bool,
) -> str:
    if validation is not None:
        detail = f": {validation.message}" if validation.message else ""
        return f"the generated test {validation.status}{detail}"
    if test is not None and test.reason:
        return test.reason
    if function.is_async:
        return "async function: the ghostwriter writes no tests for coroutines"
    if not config["generate"]:
        return "generation is switched off (tests.generate = false)"
    if not config["generate_on_all"] and analyze_all:
        return "--all: tests are generated per commit only (tests.generate_on_all = false)"
    return f"over the per-commit limit of generated tests (tests.max_functions = {config['max_functions']})"


def environment_finding(
    function: FunctionInfo,
    text: str,
    config: dict[str, Any],
    env: Environment,
    missing_tools: list[str] | None = None,
) -> Finding:
    """TEST003: the environment cannot run the generated tests (one per analysis and cause)."""
    return Finding(
        agent="tests",
        rule="TEST003",
        severity=Severity.parse(str(config["severity"])),
        path=function.path,
        line=1,
        message=text,
        snippet=text.split(":", 2)[1].strip(),
        confidence=0.9,
        # About the environment, not the code at its location: a later analysis that generates
        # nothing cannot see it fixed, so it is never resolved by absence (core/resolution.py).
        extra={
            "environment": env.as_dict(),
            "missing_tools": missing_tools or [],
            "about_change": True,
        },
    )


def too_weak(strength: Strength | None) -> bool:
    return strength is None or strength.killed is None


def weak_reason(function: FunctionInfo, strength: Strength | None) -> str:
    if strength is None:
        return "not checked against mutants: the agent's time budget ran out"
    if strength.made == 0:
        return f"too weak: no mutant of {function.qualname} could be made to check the test against"
    if not strength.complete and strength.tried < strength.made:
        return (
            f"not checked against every mutant: the agent's time budget ran out "
            f"({strength.tried} of {strength.made} tried, none caught)"
        )
    return (
        f"too weak: the test passes on all {strength.tried} mutants of {function.qualname} "
        "(it would not catch a bug)"
    )


def one_line(example: str | None) -> str:
    """``f(\n    x='Ā',  # comment\n)`` -> ``f(x='Ā')``: the message stays one line."""
    if not example:
        return "a failing example"
    text = " ".join(re.sub(r"  # [^\n]*", "", example).split())
    return text.replace("( ", "(").replace(", )", ")").replace(" )", ")")


def test_file_name(function: FunctionInfo, index: int | None = None) -> str:
    stem = re.sub(r"\W", "_", f"{function.module.rsplit('.', 1)[-1]}_{function.qualname}")
    suffix = "" if index is None else f"_{index}"
    return f"test_{stem}_properties{suffix}.py"


def run_metrics(
    found: Resolution,
    generated: dict[str, tuple[GeneratedTest, Validation | None]],
    timings: dict[str, float],
    strengths: dict[str, Strength] | None = None,
    line_coverage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    strengths = strengths or {}
    measured = [c for c in (line_coverage or {}).values() if c.status == "measured"]
    weak = [
        key
        for key, (test, v) in generated.items()
        if v is not None and v.status == PASSED and too_weak(strengths.get(key))
    ]
    figures = [f for f in found.figures.values() if f.total]
    covered, total = sum(f.covered for f in figures), sum(f.total for f in figures)
    statuses = [v.status for _, v in generated.values() if v is not None]
    return {
        "test_coverage": {
            "mode": found.mode,
            "unit": "lines" if found.mode == "coverage" else "functions",
            "pct": round(100.0 * covered / total, 1) if total else None,
            "modules": {path: f.as_dict() for path, f in found.figures.items() if f.total},
        },
        "changed_functions": sum(len(m.changed) for m in found.modules),
        "untested": len(found.untested),
        "generated": sum(1 for t, _ in generated.values() if t.code is not None),
        "offered": statuses.count(PASSED) - len(weak),
        "too_weak": len(weak),
        "mutants_run": sum(s.tried for s in strengths.values()),
        "possible_bugs": sum(  # an observed test failing at its own commit is no bug
            1
            for t, v in generated.values()
            if v is not None and v.status == FAILED and t.prop != "observed"
        ),
        "validation": {s: statuses.count(s) for s in sorted(set(statuses))},
        "changed_line_coverage": {
            "tests_measured": len(measured),
            "not_measured": len(line_coverage or {}) - len(measured),
            "changed_statements": sum(len(c.changed) for c in measured),
            "covered": sum(len(c.covered) for c in measured),
        },
        "test_modules_read": found.test_modules_read,
        "timings_s": timings,
    }
