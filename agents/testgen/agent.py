"""The ``tests`` agent: untested public functions a commit added or changed, with validated tests.

1. Resolution (``testgen_find``): which changed public functions no test exercises.
2. Generation (``testgen_write``, ``testgen_examples``): a test per untested function, written in a
   sandboxed child inside a temporary worktree of the commit; only tests with a real assertion.
3. Validation (``testgen_run``, ``testgen_batch``): pytest in the sandbox; a failing property test
   is a possible bug. A passing test is offered only when it kills a mutant (``testgen_strength``);
   ``testgen_linecov`` then says which changed lines it runs.

The repository's code is never imported into this process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from controlroom.agents.testgen import claude
from controlroom.agents.testgen.batch import TestFile, validate_many
from controlroom.agents.testgen.cache import StoreBridge
from controlroom.agents.testgen.early_tree import WorktreeFactory, early_worktree
from controlroom.agents.testgen.env import Environment, find_environment, missing_tools
from controlroom.agents.testgen.examples import examples_in_tree
from controlroom.agents.testgen.find import resolve
from controlroom.agents.testgen.guards import plan_children, use_guards
from controlroom.agents.testgen.imports import without_import_failures
from controlroom.agents.testgen.linecov import ChangedLineCoverage, measure_offered
from controlroom.agents.testgen.refusals import GENERATED_DIR
from controlroom.agents.testgen.report import (
    environment_finding,
    run_metrics,
    test_file_name,
    untested_finding,
)
from controlroom.agents.testgen.run import PASSED, Validation, validate
from controlroom.agents.testgen.sandbox import Limits, sandbox_strength
from controlroom.agents.testgen.static import FunctionInfo
from controlroom.agents.testgen.strength import Strength, Turns, check_strength
from controlroom.agents.testgen.write import (
    NO_PROPERTY,
    GeneratedTest,
    ghostwrite_all,
    python_path,
)
from controlroom.core.blobs import max_file_bytes
from controlroom.core.model import AgentContext, AgentOutput, ChangeSet, Finding, Task
from controlroom.core.queue import FindingRecord
from controlroom.core.settings import table
from controlroom.core.toolkit.parsing import run_in_worker

if TYPE_CHECKING:
    from controlroom.core.apply import FixOutcome  # apply() returns one; made in the fix module


COVERAGE_RESERVE_S = 3.0  # of the time budget, kept for the changed-line coverage run


class TestGeneratorAgent:
    """Finds untested changed public functions and offers validated property-based tests."""

    name: ClassVar[str] = "tests"
    __test__ = False  # not a pytest test class, despite the name
    fixes_groups: ClassVar[bool] = True  # apply_fix writes every offered test of a grouped task

    async def apply_fix(
        self, task: Task, findings: list[FindingRecord], tree: Path, config: dict[str, Any]
    ) -> FixOutcome | None:
        """Carry out an approved task in the worktree ``tree``: the generated test, run again at HEAD in the sandbox."""
        from controlroom.agents.testgen.fix import apply_generated_test

        return await apply_generated_test(task, findings, tree, config)

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        config = table("tests", ctx.config)
        generate = config["generate"] and (config["generate_on_all"] or not ctx.analyze_all)
        async with early_worktree(_worktree_factory(ctx), change, generate) as factory:
            return await self._analyze(change, ctx, config, generate, factory)

    async def _analyze(
        self,
        change: ChangeSet,
        ctx: AgentContext,
        config: dict[str, Any],
        generate: bool,
        factory: WorktreeFactory | None,
    ) -> AgentOutput:
        started = time.perf_counter()
        budget = (  # the runner's (scaled) timeout, else the configured base
            ctx.deadline - time.monotonic()
            if ctx.deadline is not None
            else float(table("agents", ctx.settings.get("agents"))["timeout"])
        )
        deadline = started + 0.9 * budget
        found = await asyncio.to_thread(
            resolve,
            change,
            ctx.repo_path,
            analyze_all=ctx.analyze_all,
            use_coverage=bool(config["use_coverage"]),
            usage_store=StoreBridge(ctx.cache, asyncio.get_running_loop()) if ctx.cache else None,
            max_bytes=max_file_bytes(ctx.settings),
        )
        output = AgentOutput(notes=list(found.notes))
        generated: dict[str, tuple[GeneratedTest, Validation | None]] = {}
        strengths: dict[str, Strength] = {}
        problems: list[Finding] = []
        line_coverage: dict[str, ChangedLineCoverage] = {}
        timings = {"resolve": found.duration_s}
        env, env_notes = await asyncio.to_thread(find_environment, ctx.repo_path, config)
        output.notes.extend(env_notes)
        # With a key, Claude writes tests for what the ghostwriter could not cover; its tests go
        # through the same sandboxed validation and only passing ones are offered.
        assistant = ctx.assistant("tests")
        if found.untested and generate:
            if factory is None:
                output.notes.append("no worktree factory: generated tests skipped")
            else:
                gen_started = time.perf_counter()
                siblings: dict[tuple[str, str], set[str]] = {}
                for module in found.modules:
                    for function in module.functions:
                        siblings.setdefault(_namespace(function), set()).add(function.name)
                run = _Run(env, strengths, problems, line_coverage)
                generated = await self._generate(
                    change, found.untested, factory, config, deadline, siblings, assistant, run
                )
                timings["generate_and_validate"] = round(time.perf_counter() - gen_started, 3)
        for function in found.untested:
            pair = generated.get(function.dotted)
            strength = strengths.get(function.dotted)
            covered = line_coverage.get(function.dotted)
            finding = untested_finding(function, found, pair, config, strength, covered)
            finding.extra["environment"] = env.as_dict()
            output.findings.append(finding)
        output.findings.extend(problems)
        timings["total"] = round(time.perf_counter() - started, 3)
        output.metrics = run_metrics(found, generated, timings, strengths, line_coverage)
        output.metrics["environment"] = env.as_dict()
        claude.record_outcome(assistant, output.metrics, output.notes, "tests")
        box = await asyncio.to_thread(sandbox_strength)
        output.metrics["sandbox"] = box
        if generated and box != "bubblewrap":
            output.notes.append(
                f"weak sandbox: repository code ran without bubblewrap ({box}): "
                "it could read files and reach local sockets outside its worktree"
            )
        return output

    async def _generate(
        self,
        change: ChangeSet,
        untested: list[FunctionInfo],
        factory: WorktreeFactory,
        config: dict[str, Any],
        deadline: float,
        siblings: dict[tuple[str, str], set[str]],
        assistant: Any = None,
        run: _Run | None = None,
    ) -> dict[str, tuple[GeneratedTest, Validation | None]]:
        run = run or _Run(None, {}, [], {})
        # tests.max_functions caps the functions that get a child (not those with nothing to assert)
        limit = int(config["max_functions"])
        candidates = [f for f in untested if not f.is_async]
        results: dict[str, tuple[GeneratedTest, Validation | None]] = {}
        texts = {f.path: f.new_text or "" for f in change.files if f.path.endswith(".py")}
        # Off the event loop, and on a big commit off this process (its parses of the changed
        # files would hold the GIL the other agents share).
        size = sum(len(text) for text in texts.values())
        early, (wanted, nothing, guards) = await run_in_worker(
            plan_children, candidates, texts, siblings, limit, size=size
        )
        for function in nothing:
            results[function.dotted] = (GeneratedTest(function, None, None, NO_PROPERTY, []), None)
        candidates = [f for f in candidates if f.dotted in results or f in wanted][:limit]
        limits = Limits.from_config(config)
        if run.env is not None and not run.env.own:
            limits = replace(limits, python=run.env.python, python_dirs=run.env.prefixes)
        if not wanted:
            if assistant is not None:
                async with factory(change.commit) as worktree:
                    await self._ask_claude(
                        assistant, change, worktree, results, candidates, limits, config
                    )
                    workdir = Path(worktree) / GENERATED_DIR
                    await self._check_strength(
                        change, worktree, workdir, results, limits, config, deadline, run
                    )
            return results
        concurrency = max(1, int(config["concurrency"]))
        async with factory(change.commit) as worktree:
            workdir = Path(worktree) / GENERATED_DIR
            ghost_limits = replace(
                limits, timeout=max(1.0, min(limits.timeout, deadline - time.perf_counter()))
            )
            lacking = await self._environment_lacks(worktree, workdir, wanted, limits, run, config)
            if lacking is not None:
                for function in wanted:
                    results[function.dotted] = (
                        GeneratedTest(function, None, None, lacking, []),
                        None,
                    )
                return results
            tests, wanted = await without_import_failures(worktree, workdir, wanted, ghost_limits)
            if wanted:
                examples, builders = await asyncio.to_thread(
                    examples_in_tree, Path(worktree), wanted
                )
                tests += await ghostwrite_all(
                    worktree,
                    workdir,
                    wanted,
                    ghost_limits,
                    concurrency,
                    {**early, **examples},
                    builders,
                    deadline,
                )
            self._missing_dependencies(tests, run, config)
            use_guards(tests, guards)
            # A roundtrip pair changed together shares one test: run each distinct test once.
            unique = {t.code: t for t in reversed(tests) if t.code}
            files = [
                TestFile(
                    code,
                    test_file_name(t.function, i),
                    code,
                    tuple(python_path(worktree, [t.function])),
                )
                for i, (code, t) in enumerate(unique.items())
            ]
            remaining = deadline - time.perf_counter()
            by_code: dict[str | None, Validation] = {}
            if remaining >= 2.0:
                run_limits = replace(limits, timeout=min(limits.timeout, remaining))
                by_code.update(
                    await validate_many(
                        worktree,
                        workdir,
                        files,
                        run_limits,
                        int(config["max_examples"]),
                        concurrency,
                    )
                )
            for test in tests:
                validation = by_code.get(test.code) if test.code else None
                if test.code and validation is None:
                    test.reason = "not validated: the agent's time budget ran out"
                results[test.function.dotted] = (test, validation)
            if assistant is not None:
                await self._ask_claude(
                    assistant, change, worktree, results, candidates, limits, config
                )
            await self._check_strength(
                change, worktree, workdir, results, limits, config, deadline, run
            )
        return results

    async def _environment_lacks(
        self,
        worktree: Path,
        workdir: Path,
        wanted: list[FunctionInfo],
        limits: Limits,
        run: _Run,
        config: dict[str, Any],
    ) -> str | None:
        """Why the project's environment cannot run generated tests (said once, as a finding),
        or None when it can (controlroom's own environment is not asked)."""
        if run.env is None or run.env.own:
            return None
        missing = await missing_tools(worktree, workdir / "probe", limits)
        if missing == []:
            return None
        where = run.env.prefixes[0] if run.env.prefixes else run.env.python
        if missing is None:
            text = f"tests: the project's environment at {where} does not start in the sandbox"
        else:
            text = (
                f"tests: the project's environment at {where} lacks {' and '.join(missing)}; "
                "set tests.python or install it"
            )
        run.problems.append(
            environment_finding(wanted[0], text, config, run.env, missing_tools=missing or [])
        )
        return text.removeprefix("tests: ")

    def _missing_dependencies(
        self, tests: list[GeneratedTest], run: _Run, config: dict[str, Any]
    ) -> None:
        """One finding naming every module the environment could not import (not the project's own)."""
        own = {t.function.module.split(".")[0] for t in tests}
        hit = [t for t in tests if t.missing_module and t.missing_module.split(".")[0] not in own]
        if not hit or run.env is None:
            return
        names = sorted({t.missing_module or "" for t in hit})
        text = f"tests: dependencies missing: {', '.join(names)}; set tests.python"
        if run.env.own:
            text += " (or create the project's .venv)"
        finding = environment_finding(hit[0].function, text, config, run.env)
        finding.extra["missing_modules"] = names
        finding.extra["functions"] = [t.function.dotted for t in hit]
        run.problems.append(finding)
        for test in hit:
            test.reason = f"dependencies missing: {test.missing_module} (see TEST003)"

    async def _check_strength(
        self,
        change: ChangeSet,
        worktree: Path,
        workdir: Path,
        results: dict[str, tuple[GeneratedTest, Validation | None]],
        limits: Limits,
        config: dict[str, Any],
        deadline: float,
        run: _Run,
    ) -> None:
        """Every passing test against its function's mutants, then its changed-line coverage."""
        locks: dict[str, Turns] = {}
        gate = Turns(int(config["concurrency"]))
        remaining = max(1.0, deadline - time.perf_counter())
        mutant_limits = replace(limits, timeout=min(limits.timeout, remaining))

        async def one(index: int, test: GeneratedTest) -> None:
            function = test.function
            run.strengths[function.dotted] = await check_strength(
                worktree,
                workdir / f"strength-{index}",
                function,
                test.code or "",
                test_file_name(function, index),
                python_path(worktree, [function]),
                mutant_limits,
                int(config["max_examples"]),
                int(config["max_mutants"]),
                locks.setdefault(function.path, Turns(1)),
                deadline - COVERAGE_RESERVE_S,  # the coverage run comes after
                gate,
            )

        passing = [
            test
            for test, validation in results.values()
            if test.code and validation is not None and validation.status == PASSED
        ]
        await asyncio.gather(*(one(i, t) for i, t in enumerate(passing)))
        run.line_coverage.update(
            await measure_offered(
                change, worktree, workdir, results, run.strengths, limits, config, deadline
            )
        )

    async def _ask_claude(
        self,
        assistant: Any,
        change: ChangeSet,
        worktree: Path,
        results: dict[str, tuple[GeneratedTest, Validation | None]],
        candidates: list[FunctionInfo],
        limits: Limits,
        config: dict[str, Any],
    ) -> None:
        """Claude's pytest tests for the functions left without a passing test, validated in
        the sandbox exactly like the ghostwriter's (one escalation a tier up on failure)."""
        texts = {f.path: f.new_text or "" for f in change.files}
        for function in candidates:
            _test, validation = results.get(function.dotted, (None, None))
            if validation is not None and validation.status == PASSED:
                continue
            lines = texts.get(function.path, "").splitlines()
            source = "\n".join(lines[function.line - 1 : function.end_line or function.line])
            name = f"test_claude_{test_file_name(function, 0)}"
            box = Path(worktree) / ".controlroom-claude" / function.name
            paths = python_path(worktree, [function])
            checked: dict[str, Validation] = {}

            async def check(code: str, box=box, name=name, paths=paths, checked=checked) -> bool:
                outcome = await validate(
                    worktree, box, code, name, paths, limits, int(config["max_examples"])
                )
                checked[code] = outcome
                return outcome.status == PASSED

            code = await claude.write_test(
                assistant,
                module=function.module,
                qualname=function.qualname,
                source=source,
                validate=check,
                module_text=texts.get(function.path, ""),
                root=Path(worktree),
            )
            if code is not None:
                results[function.dotted] = (
                    GeneratedTest(function, code, "claude", None, []),
                    checked[code],
                )


@dataclass(slots=True)
class _Run:
    """What one analysis's generation shares: the environment and what it found on the way."""

    env: Environment | None
    strengths: dict[str, Strength]
    problems: list[Finding]
    line_coverage: dict[str, ChangedLineCoverage]


def _namespace(function: FunctionInfo) -> tuple[str, str]:
    return function.module, function.qualname.rpartition(".")[0]


def _worktree_factory(ctx: AgentContext) -> WorktreeFactory | None:
    if ctx.worktree_factory is not None:
        return ctx.worktree_factory
    try:
        from controlroom.core.git import GitRepository
    except ImportError:
        return None
    worktree = getattr(GitRepository(ctx.repo_path), "worktree", None)
    return worktree if callable(worktree) else None
