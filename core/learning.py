"""What the queue learns from the operator's decisions (docs/learning.md).

Every approve (+1) and reject (-1) is an event in ``learning_events``, written in the decision's
transaction with the task's scopes: its rule, its file's directory (``src/``, ``pkg/sub/``) and
whether it is test code (``core/testpaths.py``) and the kind of symbol (``symbol_kind``). Weights
are computed at read time, each event weighing ``0.5 ** (age / half_life)``. A task is judged by
the most specific scope with enough evidence: ``rule+dir``, ``rule+kind`` (methods, functions,
...), then ``rule+test|non-test`` (test code and other code never share one);
a rule with no decision of its own is judged by its family's (``ARG002`` and ``ARG004``:
``ARG0``), each sibling's decision counting half. Undoing a decision deletes its event. Right
after a decision the open tasks of the same rule and its family are projected again, so the queue
re-ranks at once.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from controlroom.core.config import Config
from controlroom.core.model import Severity, Task, TaskState
from controlroom.core.settings import load_defaults
from controlroom.core.store import Store
from controlroom.core.testpaths import is_test_path

_VOTES = {TaskState.APPROVED: 1, TaskState.REJECTED: -1}
OPEN_STATES = ("pending", "snoozed")
PRIORITY_SPAN = 24  # the priority moved by a unanimous, well-evidenced history (before smoothing)
CONFIDENCE_SPAN = 0.3  # the confidence moved likewise, downwards
MAX_BOOST = 0.15  # learning alone never raises confidence by more than this
CONFIDENCE_CEILING = 0.99  # nor to 1.00
CRITICAL_FLOOR = 80  # criticals start here; learning never lifts anything else to it
FAMILY_WEIGHT = 0.5  # a decision on a sibling rule counts half for a rule with none of its own
_FAMILY = re.compile(r"([A-Z]+\d)\d+")
SYMBOL_KINDS = ("module", "class", "method", "function", "nested", "constant")
_BY_KIND = ("dirkind", "kind")  # scopes refined by the symbol kind; each has a broader next one


def rule_family(rule: str) -> str | None:
    """A rule's family: its letters and first digit (``ARG002`` -> ``ARG0``, ``S106`` -> ``S1``,
    ``IMP101`` -> ``IMP1``), the linter's own grouping of one kind of problem; None for a rule
    without a number (``SYNTAX``)."""
    match = _FAMILY.fullmatch(rule)
    return match.group(1) if match else None


def symbol_kind(symbol: str | None) -> str:
    """The kind of code a finding is in, read from its dotted symbol by Python's naming
    conventions (PEP 8: classes in CapWords, constants in capitals): ``module`` (no symbol:
    module-level code), ``constant`` (``MAX_SIZE``, ``Cart.LIMIT``), ``class`` (``Cart``),
    ``method`` (``Cart.total``), ``function`` (``total``) or ``nested`` (``total.inner``: a def
    inside a function)."""
    if not symbol:
        return "module"
    *owners, name = symbol.split(".")
    if name.isupper() and sum(c.isalpha() for c in name) > 1:
        return "constant"

    def capitalised(part: str) -> bool:
        return part.lstrip("_")[:1].isupper()

    if owners and not capitalised(owners[-1]):
        return "nested"
    if capitalised(name):
        return "class"
    return "method" if owners else "function"


def scope_of(path: str) -> tuple[str, bool]:
    """A path's directory (``src/``, ``pkg/sub/``, ``./`` at the root) and whether it is test code."""
    folder = posixpath.dirname(path.replace("\\", "/"))
    return (f"{folder}/" if folder else "./"), is_test_path(path)


@dataclass(slots=True)
class Tally:
    """Decayed approvals and rejections in one scope, and the raw counts behind them."""

    approved: float = 0.0
    rejected: float = 0.0
    approved_n: int = 0
    rejected_n: int = 0
    imported_n: int = 0  # of those counts, merged from another repository (learn import)
    oldest: float | None = None
    rules: set[str] = field(default_factory=set)  # the rules decided (a family's siblings)

    @property
    def counts(self) -> tuple[int, int]:
        return self.approved_n, self.rejected_n

    @property
    def evidence(self) -> float:
        return self.approved + self.rejected

    @property
    def rate(self) -> float:
        """-1 (always rejected) .. +1 (always approved), smoothed toward 0 on little evidence."""
        return (self.approved - self.rejected) / (self.evidence + 2.0)


@dataclass(frozen=True, slots=True)
class Assessment:
    confidence_delta: float
    priority_delta: int
    text: str


@dataclass(slots=True)
class LearnedWeights:
    """Decayed tallies per (rule, scope); ``assess`` says what they do to one task."""

    tallies: dict[tuple[str, str, str], Tally] = field(default_factory=dict)
    now: float = 0.0
    half_life_days: float = 30.0
    min_evidence: float = 2.0

    def __bool__(self) -> bool:
        return bool(self.tallies)

    def add(
        self,
        at: float,
        rule: str,
        folder: str,
        test: bool,
        vote: int,
        imported: bool = False,
        kind: str | None = None,
    ) -> None:
        decayed = 0.5 ** (max(0.0, self.now - at) / (self.half_life_days * 86400.0))
        for key in [*_keys(rule, folder, test, kind), *_family_key(rule, test)]:
            weight = decayed * (FAMILY_WEIGHT if key[1] == "family" else 1.0)
            tally = self.tallies.setdefault(key, Tally())
            tally.rules.add(rule)
            tally.imported_n += int(imported)
            if vote > 0:
                tally.approved += weight
                tally.approved_n += 1
            else:
                tally.rejected += weight
                tally.rejected_n += 1
            tally.oldest = at if tally.oldest is None else min(tally.oldest, at)

    def assess(
        self, rule: str, path: str, severity: Severity, kind: str | None = None
    ) -> Assessment | None:
        """What the history of ``rule`` in the scopes of ``path`` (and of ``kind``, the task's
        ``symbol_kind``) does to a task, or None."""
        folder, test = scope_of(path)
        chosen = None
        keys = _keys(rule, folder, test, kind)
        for index, key in enumerate(keys):
            tally = self.tallies.get(key)
            if tally is None:
                continue
            chosen = (key, tally)
            if round(tally.evidence, 1) >= self.min_evidence:  # minutes of decay do not count
                broader = self.tallies.get(keys[index + 1]) if key[1] in _BY_KIND else None
                if broader is not None and broader.counts == tally.counts:
                    chosen = (keys[index + 1], broader)  # the same decisions: the plainer scope
                break
        for key in _family_key(rule, test) if chosen is None else []:
            if key in self.tallies:
                chosen = (key, self.tallies[key])
        if chosen is None:
            return None
        (name, scope, value), tally = chosen
        rate = tally.rate
        confidence = min(MAX_BOOST, rate * CONFIDENCE_SPAN)
        priority = round(rate * PRIORITY_SPAN)
        label, _, code = value.partition("|")
        where = {
            "dir": f"in {label}",
            "dirkind": f"on {value.rpartition('|')[2]}s in {label}",
            "kind": f"on {label}s in {code} code",
        }.get(scope, f"in {value} code")
        days = max(0.0, self.now - (tally.oldest or self.now)) / 86400.0
        verb = "rejected" if tally.rejected >= tally.approved else "approved"
        count = tally.rejected_n if verb == "rejected" else tally.approved_n
        what = rule
        if scope == "family":
            siblings = ", ".join(sorted(tally.rules))
            what = f"{name}xx rules ({siblings}; none yet of {rule}, each counting half)"
        history = (
            f"you {verb} {count} of {tally.approved_n + tally.rejected_n} {what} {where} "
            f"in the last {_days(days)} "
            f"(decayed {tally.approved:.1f} approved / {tally.rejected:.1f} rejected, "
            f"half-life {self.half_life_days:g} days)"
        )
        if tally.imported_n:
            history += f"; {tally.imported_n} of these decisions imported (learn import)"
        if severity is Severity.CRITICAL and (confidence < 0 or priority < 0):
            return Assessment(
                0.0, 0, f"learning: not applied, a critical is never demoted; {history}"
            )
        return Assessment(confidence, priority, history)

    def apply(
        self, assessment: Assessment, severity: Severity, confidence: float, consensus: bool
    ) -> tuple[float, int, str]:
        """(confidence, priority, explanation) of a task scored ``confidence``/``base`` before."""
        from controlroom.core.convergence import priority_of

        base = priority_of(severity, confidence, consensus)
        adjusted = confidence + assessment.confidence_delta
        if assessment.confidence_delta > 0:
            adjusted = min(adjusted, max(confidence, CONFIDENCE_CEILING))
        adjusted = min(1.0, max(0.0, adjusted))
        priority = priority_of(severity, adjusted, consensus) + assessment.priority_delta
        if severity is not Severity.CRITICAL:
            priority = min(priority, max(base, CRITICAL_FLOOR - 1))
        else:
            priority = max(priority, base)
        priority = min(100, max(0, priority))
        if assessment.text.startswith("learning: not applied"):
            return confidence, base, assessment.text
        moved = priority - base
        text = (
            f"learning: {moved:+d} priority, {adjusted - confidence:+.2f} confidence: "
            f"{assessment.text}"
        )
        return adjusted, priority, text


def _days(days: float) -> str:
    return "day" if days <= 1 else f"{round(days)} days"


def _keys(
    rule: str, folder: str, test: bool, kind: str | None = None
) -> list[tuple[str, str, str]]:
    """Most specific first: rule+dir+symbol kind, rule+dir (split by test code too), rule+kind
    (methods, functions, ...; when known), then rule+test|non-test. Test code and other code
    never share a scope: rejecting a rule in tests never demotes it in ``src/``."""
    code = "test" if test else "non-test"
    in_dir = (rule, "dir", f"{folder}|{code}")
    if not kind:
        return [in_dir, (rule, "code", code)]
    return [
        (rule, "dirkind", f"{folder}|{code}|{kind}"), in_dir, (rule, "kind", f"{kind}|{code}"),
        (rule, "code", code),
    ]  # fmt: skip


def _family_key(rule: str, test: bool) -> list[tuple[str, str, str]]:
    """The broadest scope, for a rule with no decision of its own: its family in test or other code."""
    family = rule_family(rule)
    return [(family, "family", "test" if test else "non-test")] if family else []


def _settings(config: Config | None) -> Config:
    return config if config is not None else Config(load_defaults())


async def learn_transition(
    conn: aiosqlite.Connection,
    task: Task,
    old: TaskState,
    new: TaskState,
    at: float,
    config: Config | None = None,
    *,
    rerank_now: bool = True,
) -> None:
    """Record ``old`` -> ``new`` on ``task`` (an undo deletes the event it reverts), then re-rank
    the open tasks of the same rule in the same transaction (a bulk decision passes
    ``rerank_now=False`` and calls ``rerank_rules`` once at its end)."""
    if old in _VOTES:
        await conn.execute(
            "DELETE FROM learning_events WHERE id = (SELECT max(id) FROM learning_events "
            "WHERE task_id = ? AND vote = ?)",
            (task.id, _VOTES[old]),
        )
    if new in _VOTES:
        folder, test = scope_of(task.path)
        await conn.execute(
            "INSERT INTO learning_events (at, task_id, rule, agents, dir, test, vote, kind) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at, task.id, task.rule, ",".join(task.agents), folder, int(test), _VOTES[new],
                symbol_kind(task.symbol),
            ),
        )  # fmt: skip
    if rerank_now and (old in _VOTES or new in _VOTES):
        await rerank(conn, task.rule, _settings(config), now=at)


async def rerank_rules(
    conn: aiosqlite.Connection, rules: Iterable[str], config: Config | None, *, now: float
) -> None:
    """Re-rank the open tasks of each of ``rules`` once (after a bulk decision or undo)."""
    settings = _settings(config)
    for rule in sorted(set(rules)):
        await rerank(conn, rule, settings, now=now)


async def rerank(conn: aiosqlite.Connection, rule: str, config: Config, *, now: float) -> int:
    """Project the open tasks of ``rule`` again with what was learned (the
    ``convergence.learning_rerank_limit`` highest-ranked); returns how many."""
    from controlroom.core.enqueue import Scoring, project

    if not config.get("convergence.learning"):
        return 0
    # The operator's view first: the highest-ranked open tasks of the rule are projected again at
    # once (bounded, so a decision stays fast with 100,000 tasks); the rest on their next analysis.
    # Its family's other rules too: they are judged by this decision while they have none.
    family = rule_family(rule)
    cursor = await conn.execute(
        "SELECT fingerprint, last_seen_commit FROM tasks WHERE (rule = ? OR rule GLOB ?) "
        "AND state IN (?, ?) ORDER BY priority DESC, id LIMIT ?",
        (
            rule,
            f"{family}[0-9]*" if family else rule,
            *OPEN_STATES,
            int(config.get("convergence.learning_rerank_limit")),
        ),
    )
    rows = list(await cursor.fetchall())
    if not rows:
        return 0
    weights = await load_weights(conn, config, now=now, rules=[rule])
    scoring = Scoring(weights, int(config.get("convergence.consensus_min_agents")))
    seen_at = {r["fingerprint"]: r["last_seen_commit"] for r in rows}
    projected = await project(conn, list(seen_at), scoring, seen_at)
    await conn.executemany(
        "UPDATE tasks SET priority = ?, confidence = ?, confidence_reason = ? "
        "WHERE fingerprint = ? AND state IN (?, ?)",
        [
            (item.priority, item.confidence, item.confidence_reason, fp, *OPEN_STATES)
            for fp, item in projected.items()
        ],
    )
    return len(projected)


async def load_weights(
    source: Store | aiosqlite.Connection,
    config: Config | None = None,
    *,
    now: float | None = None,
    rules: Iterable[str] | None = None,
) -> LearnedWeights:
    """The decayed weights at ``now`` (default: the current time), of ``rules`` or of all."""
    import time

    settings = _settings(config)
    weights = LearnedWeights(
        now=time.time() if now is None else now,
        half_life_days=float(settings.get("convergence.learning_half_life_days")),
        min_evidence=float(settings.get("convergence.learning_min_evidence")),
    )
    sql = "SELECT at, rule, dir, test, vote, origin, kind FROM learning_events"
    params: tuple[Any, ...] = ()
    if rules is not None:  # and their families (a rule without decisions is judged by them)
        wanted = sorted(set(rules))
        families = sorted({f for f in map(rule_family, wanted) if f})
        sql += f" WHERE rule IN ({', '.join('?' * len(wanted))})"
        sql += " OR rule GLOB ?" * len(families)
        params = (*wanted, *(f"{f}[0-9]*" for f in families))
    if isinstance(source, Store):
        rows: Iterable[aiosqlite.Row] = await source.fetchall(sql, params)
    else:
        rows = await (await source.execute(sql, params)).fetchall()
    for row in rows:
        weights.add(
            row["at"], row["rule"], row["dir"], bool(row["test"]), row["vote"],
            row["origin"] is not None, row["kind"],
        )  # fmt: skip
    return weights


def learning_note(confidence_reason: str | None) -> str | None:
    """The learning part of a task's confidence reason ("learning: -12 priority, ..."), if any."""
    if not confidence_reason:
        return None
    start = confidence_reason.find("learning: ")
    if start < 0:
        return None
    end = confidence_reason.find("; also on this symbol", start)
    return confidence_reason[start : end if end >= 0 else None]
