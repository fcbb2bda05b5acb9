"""Ranking a critic finding by where it is and what the flagged code is for (docs/critic.md,
"Context"): findings in test code are dropped or ranked lower, security rules on code whose purpose
is the flagged call are dropped or demoted, a "useless expression" (B018) that probes for an error
on purpose (``try: X`` / ``except NameError``, ``with pytest.raises(...)``) is dropped, so are
"use list(...)" for a loop inside a ``try`` (it keeps the items before an error) and "use
``.values()``" inside ``values`` itself, and a few severities depend on the call's AST.

``judge(...)`` is the one entry point: it returns a ``Verdict`` (drop, or a severity, confidence
and reason) for one finding; the critic applies it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controlroom.agents.critic import purpose
from controlroom.agents.critic.allowlist import code_from_allowlist
from controlroom.agents.critic.ruff import selects
from controlroom.agents.critic.templates import code_from_templates
from controlroom.core.model import Severity
from controlroom.core.settings import table
from controlroom.core.testpaths import is_test_code
from controlroom.core.toolkit.regions import SourceRegions

N_PLUS_ONE_MAX = Severity.MEDIUM  # CR001 ranks below security findings, whatever the table says
TEST_CODE_MAX = Severity.HIGH  # never "critical" in test code, whatever the table says
SHELL_RULES = frozenset({"S602", "S604", "S605"})
CODE_RULES = frozenset({"S102", "S307"})  # exec, eval
COPY_RULES = frozenset({"PERF401", "PERF402"})  # "use list(...)" / "use a comprehension"
AST_RULES = SHELL_RULES | CODE_RULES | {"S603", "S608", "S308"}
SECRET_RULES = {"S105", "S106", "S107"}  # "hardcoded password" in an assignment/argument/default
_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


@dataclass(frozen=True, slots=True)
class TestCodePolicy:
    """The ``[critic.test_code]`` table: rules dropped in test code; the rest go down a level."""

    drop: tuple[str, ...]
    levels_down: int
    max_severity: Severity
    confidence_factor: float

    @classmethod
    def from_config(cls, given: dict[str, Any]) -> TestCodePolicy:
        """The given table over the packaged ``[critic.test_code]``."""
        values = table("critic.test_code", given)
        ceiling = Severity.parse(str(values["max_severity"]))
        return cls(
            drop=tuple(str(r) for r in values["drop"]),
            levels_down=int(values["levels_down"]),
            max_severity=lowest(ceiling, TEST_CODE_MAX),
            confidence_factor=float(values["confidence_factor"]),
        )

    def drops(self, rule: str) -> bool:
        """True when a selector in ``drop`` takes ``rule`` (``S1`` takes ``S105``, ``S`` not ``SIM108``)."""
        return any(selects(selector, rule) for selector in self.drop)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a finding: ``drop`` it, or report it with this severity and confidence;
    ``reason`` (appended to the message) says why it was ranked lower."""

    drop: bool
    severity: Severity
    confidence: float
    reason: str = ""


def lowest(a: Severity, b: Severity) -> Severity:
    return a if a.rank <= b.rank else b


def down(severity: Severity, levels: int) -> Severity:
    return _ORDER[max(0, severity.rank - levels)]


def judge(
    rule: str,
    path: str,
    symbol: str | None,
    severity: Severity,
    confidence: float,
    policy: TestCodePolicy,
    chain: Callable[[], list[ast.AST] | None],
    message: str = "",
) -> Verdict:
    """The verdict on one finding. ``chain`` gives the AST nodes down to the flagged position
    (None when the file does not parse); it is called only for rules that need it. ``message``
    is ruff's (it names the variable a "hardcoded password" rule flagged)."""
    if rule in SECRET_RULES:
        if purpose.names_a_name(purpose.quoted_name(message)):
            return Verdict(True, severity, confidence)  # password_field_name = "password": a name
        nodes = chain()
        if nodes and purpose.too_short_for_a_secret(nodes[-1]):
            return Verdict(True, severity, confidence)  # token == "(": a lexer's token
    if rule.startswith("CR001"):
        severity = lowest(severity, N_PLUS_ONE_MAX)
    if rule == "B018":  # a useless expression, unless it probes for an error on purpose
        nodes = chain()
        if nodes and purpose.is_probe(nodes):
            return Verdict(True, severity, confidence)
    if rule in COPY_RULES:  # list(...) would lose what the loop kept before an error
        nodes = chain()
        if nodes and purpose.loop_in_try(nodes):
            return Verdict(True, severity, confidence)
    if rule == "PERF102" and symbol and symbol.rpartition(".")[2] in ("keys", "values"):
        return Verdict(True, severity, confidence)  # the suggested method is this one
    if rule == "S311" and not is_test_code(path, symbol):  # random: a problem only for a secret
        name = purpose.purpose_matches(purpose.SECRET_PURPOSE, path, symbol, module=False)
        if name is not None:
            return Verdict(
                False, Severity.HIGH, confidence, f"inside `{name}`: random for a secret"
            )
    if is_test_code(path, symbol):
        if policy.drops(rule):
            return Verdict(True, severity, confidence)
        # What the code is for counts in tests too (never ranked above the same code elsewhere).
        purpose_verdict = _purpose_verdict(rule, path, symbol, severity, confidence, chain)
        if purpose_verdict.drop:
            return purpose_verdict
        ranked = lowest(down(severity, policy.levels_down), policy.max_severity)
        if purpose_verdict.severity.rank < ranked.rank:
            ranked, reason = purpose_verdict.severity, purpose_verdict.reason
        else:
            reason = "in test code" if ranked != severity else ""
        confidence = round(confidence * policy.confidence_factor, 3)
        return Verdict(False, ranked, confidence, reason)
    return _purpose_verdict(rule, path, symbol, severity, confidence, chain)


def _purpose_verdict(
    rule: str,
    path: str,
    symbol: str | None,
    severity: Severity,
    confidence: float,
    chain: Callable[[], list[ast.AST] | None],
) -> Verdict:
    """The verdict of the flagged code's purpose (AST rules only), with a reason only when it
    ranks the finding lower."""
    if rule not in AST_RULES:
        return Verdict(False, severity, confidence)
    nodes = chain()
    if not nodes:
        return Verdict(False, severity, confidence)
    verdict = _by_purpose(rule, path, symbol, severity, confidence, nodes)
    if verdict.severity == severity and verdict.reason:  # a reason only for a lower rank
        return Verdict(verdict.drop, severity, confidence)
    return verdict


def _by_purpose(
    rule: str,
    path: str,
    symbol: str | None,
    severity: Severity,
    confidence: float,
    nodes: list[ast.AST],
) -> Verdict:
    keep = Verdict(False, severity, confidence)
    call = purpose.nearest_call(nodes)
    if rule == "S608":
        return Verdict(True, severity, confidence) if purpose.string_is_message(nodes) else keep
    if rule == "S308":
        name = purpose.purpose_matches(purpose.ESCAPE_PURPOSE, path, symbol, module=False)
        if name is None:
            return keep
        return Verdict(False, down(severity, 1), confidence, f"inside `{name}`, an escaping helper")
    if call is None:
        return keep
    if rule == "S603":
        return Verdict(True, severity, confidence) if purpose.argv_is_literal(call) else keep
    if rule in SHELL_RULES:
        scope = purpose.enclosing_function(nodes)
        if purpose.shell_command_is_formatted(call, scope):
            return keep
        if purpose.shell_command_is_inert(call, scope):
            reason = "nothing from outside the program reaches the command"
            return Verdict(False, lowest(severity, Severity.LOW), confidence, reason)
        reason = "the command is not built from a variable"
        return Verdict(False, lowest(severity, Severity.HIGH), confidence, reason)
    # exec / eval
    if purpose.code_is_constant(call):
        return Verdict(False, lowest(severity, Severity.LOW), confidence, "the code is a literal")
    if code_from_allowlist(call, purpose.enclosing_function(nodes)):
        reason = "the code is joined only from literals and allowlisted tokens"
        return Verdict(False, lowest(severity, Severity.LOW), confidence, reason)
    if code_from_templates(call, purpose.enclosing_function(nodes)):
        reason = "code the function generates from its own templates: no caller's text in it"
        return Verdict(False, lowest(severity, Severity.LOW), confidence, reason)
    if purpose.builtins_stripped(call):
        reason = "its globals strip __builtins__: confined on purpose (not a sandbox)"
        return Verdict(False, lowest(severity, Severity.HIGH), confidence, reason)
    name = purpose.purpose_matches(purpose.SHELL_PURPOSE, path, symbol)
    if name is not None:
        reason = f"inside `{name}`, whose purpose is to run code it is given"
        return Verdict(False, lowest(severity, Severity.MEDIUM), confidence, reason)
    return keep


def chain_at(source: SourceRegions, line: int, column: int) -> list[ast.AST] | None:
    """AST nodes from the module down to (line, ruff's 1-based character column) in ``source``,
    parsing only the part of the file that holds the line."""
    part = source.locate(line)
    parsed = source.parse_slice(part)
    if parsed is None or (part.indent and not _wrapped(parsed.tree)):
        parsed = source.whole()
    if parsed is None or not 0 < line <= len(source.lines):
        return None
    text = source.lines[line - 1]
    byte_column = len(text[: max(0, column - 1)].encode("utf-8", "surrogateescape"))
    return purpose.node_chain(parsed.tree, line - parsed.offset, byte_column)


def _wrapped(tree: ast.Module) -> bool:
    return bool(tree.body) and isinstance(tree.body[0], ast.If)


__all__ = ["TestCodePolicy", "Verdict", "chain_at", "judge"]
