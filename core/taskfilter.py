"""The task filter language, one parser for the TUI's ``/`` and ``controlroom tasks --search``.

Terms are ANDed. A bare word (or ``"quoted phrase"``) matches rule, path, message, symbol or agents
(case-insensitive substring); ``field:value`` matches one field: ``rule:S307``, ``path:tests/``,
``message:eval``, ``symbol:main``, ``agent:docs``, ``sev:high`` (``sev:>=high``, ``sev:crit,high``),
``state:pending`` (``state:pending,snoozed``, ``state:open``, ``state:all``). A leading ``-``
negates a term: ``-path:tests/``, ``-critic``. Every term becomes an SQL clause, so a filter over
100,000 tasks runs inside SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controlroom.core.model import Severity, TaskState

TEXT_FIELDS = {
    "rule": ("rule",),
    "path": ("path",),
    "message": ("message",),
    "msg": ("message",),
    "symbol": ("symbol",),
    "agent": ("agents",),
    "agents": ("agents",),
}
BARE_COLUMNS = ("rule", "path", "message", "symbol", "agents")
SEVERITY_FIELDS = ("sev", "severity")
STATE_FIELDS = ("state",)
FIELDS = (*TEXT_FIELDS, *SEVERITY_FIELDS, *STATE_FIELDS)
OPEN_STATES = (TaskState.PENDING, TaskState.APPROVED, TaskState.SNOOZED)
_SEVERITY_ALIASES = {"crit": "critical", "med": "medium"}
_STATE_ALIASES = {"open": OPEN_STATES, "all": tuple(TaskState)}
_TOKEN = re.compile(r'\s*(-?)(?:([A-Za-z]+):)?(?:"([^"]*)"?|(\S+))')
_NULLABLE = {"symbol"}


@dataclass(frozen=True, slots=True)
class Term:
    """One condition: ``field`` None for a bare word; ``negated`` for a leading ``-``."""

    field: str | None
    value: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class TaskFilter:
    terms: tuple[Term, ...] = ()
    # The states the filter names (after state: terms), or None when it names none.
    states: tuple[TaskState, ...] | None = None
    text_terms: tuple[Term, ...] = field(default=())

    def where(
        self, default_states: Sequence[TaskState | str] | None
    ) -> tuple[list[str], list[Any]]:
        """SQL clauses (to AND) and their parameters; ``default_states`` applies unless the filter
        names states (``None``: every state)."""
        clauses: list[str] = []
        params: list[Any] = []
        states = self.states if self.states is not None else default_states
        if states is not None and set(map(str, states)) != {s.value for s in TaskState}:
            values = sorted({str(s) for s in states})
            if not values:
                return ["0"], []
            # "+state": keeps SQLite walking the tasks_order index instead of sorting every row
            clauses.append(f"+state IN ({', '.join('?' * len(values))})")
            params.extend(values)
        for term in self.text_terms:
            clause, values = _term_sql(term)
            clauses.append(clause)
            params.extend(values)
        return clauses, params


def tokens(text: str) -> list[Term]:
    """Split ``text`` into terms; an unknown ``name:`` prefix is part of a bare word."""
    terms = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        position = match.end()
        negated, name, quoted, word = match.groups()
        value = quoted if quoted is not None else word
        if name is not None and name.lower() not in FIELDS:
            value = f"{name}:{value}" if quoted is None else f'{name}:"{value}"'
            name = None
        if name is None and quoted is None and value.endswith(":") and value[:-1].lower() in FIELDS:
            raise ValueError(f"{value} needs a value")
        if not value:
            continue
        if negated and name is None and value == "-":
            continue
        terms.append(Term(name.lower() if name else None, value, bool(negated)))
    return terms


_SAVED = re.compile(r"(?<!\S)@([A-Za-z0-9_.-]+)(?!\S)")


def expand_saved(text: str | None, saved: Mapping[str, str] | None) -> str | None:
    """``text`` with each ``@name`` replaced by the filter saved as ``[queue.filters] name``
    (ANDed with the rest); ``ValueError`` names an unknown one."""
    if not text or "@" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if not saved or name not in saved:
            known = ", ".join(sorted(saved or {})) or "none saved"
            raise ValueError(f"no saved filter named @{name} ([queue.filters]: {known})")
        return str(saved[name])

    return _SAVED.sub(one, text)


def parse(text: str | None) -> TaskFilter:
    """``text`` as a ``TaskFilter``; ``ValueError`` names a bad severity or state."""
    if not text or not text.strip():
        return TaskFilter()
    terms = tokens(text)
    states: set[TaskState] | None = None
    text_terms = []
    for term in terms:
        if term.field in STATE_FIELDS:
            named = set(_states(term.value))
            chosen = set(TaskState) - named if term.negated else named
            states = chosen if states is None else states & chosen
        elif term.field in SEVERITY_FIELDS:
            text_terms.append(Term(term.field, ",".join(_severities(term.value)), term.negated))
        else:
            text_terms.append(term)
    ordered = None if states is None else tuple(s for s in TaskState if s in states)
    return TaskFilter(tuple(terms), ordered, tuple(text_terms))


def _states(value: str) -> Iterable[TaskState]:
    for name in (v.strip().lower() for v in value.split(",")):
        if not name:
            continue
        if name in _STATE_ALIASES:
            yield from _STATE_ALIASES[name]
            continue
        try:
            yield TaskState(name)
        except ValueError:
            known = ", ".join([*(s.value for s in TaskState), "open", "all"])
            raise ValueError(f"unknown state {name!r} (one of {known})") from None


def _severity(name: str) -> Severity:
    name = _SEVERITY_ALIASES.get(name, name)
    try:
        return Severity(name)
    except ValueError:
        known = ", ".join(s.value for s in Severity)
        raise ValueError(f"unknown severity {name!r} (one of {known})") from None


def _severities(value: str) -> list[str]:
    """``high`` -> [high]; ``>=high`` -> [critical, high]; ``<medium``; ``crit,high``."""
    value = value.strip().lower()
    match = re.fullmatch(r"(>=|<=|>|<|=)?(\w+)", value)
    if match is None or match.group(1) is None:
        return [_severity(v.strip()).value for v in value.split(",") if v.strip()]
    op, name = match.groups()
    rank = _severity(name).rank
    keep: Callable[[int], bool] = {
        ">=": lambda r: r >= rank,
        ">": lambda r: r > rank,
        "<=": lambda r: r <= rank,
        "<": lambda r: r < rank,
        "=": lambda r: r == rank,
    }[op]
    return [s.value for s in Severity if keep(s.rank)]


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _term_sql(term: Term) -> tuple[str, list[Any]]:
    if term.field in SEVERITY_FIELDS:
        values = [v for v in term.value.split(",") if v]
        if not values:
            return ("1" if term.negated else "0"), []
        clause = f"severity IN ({', '.join('?' * len(values))})"
        return (f"NOT {clause}" if term.negated else clause), values
    columns = TEXT_FIELDS[term.field] if term.field else BARE_COLUMNS
    parts = [
        f"{f'coalesce({c}, {chr(39) * 2})' if c in _NULLABLE else c} LIKE ? ESCAPE '\\'"
        for c in columns
    ]
    clause = "(" + " OR ".join(parts) + ")"
    return (f"NOT {clause}" if term.negated else clause), [_like(term.value)] * len(columns)
