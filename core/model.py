"""The public types every part of controlroom speaks: changes, findings, tasks, the Agent protocol.

Agents import only from here (and other public ``core`` modules), never from the TUI.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical 4 ... info 0."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        return cls(value.strip().lower())


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class FileStatus(enum.StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"


class TaskState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SNOOZED = "snoozed"
    APPLIED = "applied"
    FAILED = "failed"
    RESOLVED = "resolved"  # the problem disappeared in a later commit ("fixed in <sha>")

    @property
    def is_open(self) -> bool:
        return self in (TaskState.PENDING, TaskState.SNOOZED)


class RunStatus(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class LineRange:
    """An inclusive range of 1-based line numbers on the new side of a diff."""

    start: int
    end: int

    def __contains__(self, line: object) -> bool:
        return isinstance(line, int) and self.start <= line <= self.end


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file touched by a commit, with its text on both sides when it is text."""

    path: str
    status: FileStatus
    old_path: str | None = None
    old_text: str | None = None
    new_text: str | None = None
    changed_lines: tuple[LineRange, ...] = ()
    skipped_reason: str | None = None  # "binary", "too large (1.2 MB)", "not UTF-8"

    @property
    def is_python(self) -> bool:
        return self.path.endswith(".py")

    def touches(self, line: int) -> bool:
        """True when ``line`` (new side) is among the lines this commit changed."""
        return any(line in r for r in self.changed_lines)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What one commit changed, against its first parent (or nothing, for a root commit)."""

    repo_path: Path
    commit: str
    parent: str | None
    subject: str
    author: str
    committed_at: float  # unix time
    files: tuple[FileChange, ...]
    is_merge: bool = False
    # Work shared by the agents analyzing this change set in one process (one parse per file, see
    # ``core.toolkit.shared_scan``): lives and dies with the change set, never compared or shown.
    scratch: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def short(self) -> str:
        return self.commit[:10]

    def python_files(self) -> list[FileChange]:
        """Changed Python files whose new text is readable (not deleted, not skipped)."""
        return [
            f
            for f in self.files
            if f.is_python and f.new_text is not None and f.skipped_reason is None
        ]

    def skipped(self) -> list[FileChange]:
        return [f for f in self.files if f.skipped_reason]


def default_detector(agent: str, rule: str) -> str:
    """``agent:FAMILY``, the family being the rule's leading letters (``S307`` -> ``S``)."""
    family = rule.rstrip("0123456789") or rule
    return f"{agent}:{family}"


@dataclass(slots=True)
class Finding:
    """One thing an agent noticed. Convergence turns findings into tasks."""

    agent: str
    rule: str
    severity: Severity
    path: str
    line: int
    message: str
    symbol: str | None = None  # enclosing function/class, dotted: "Model.save"
    snippet: str = ""  # the flagged line's text, used by the fingerprint
    suggested_fix: str | None = None
    confidence: float = 0.5  # the agent's own confidence, in [0, 1]
    end_line: int | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # agent-specific, JSON-serialisable
    # Which check produced it: two agents running one shared check are one detector, one vote
    # in consensus. Default: the agent and the rule's family ("critic:S", "docs:DOC").
    detector: str = ""

    def __post_init__(self) -> None:
        if not self.detector:
            self.detector = default_detector(self.agent, self.rule)


@dataclass(slots=True)
class AgentOutput:
    """What an agent returns for one change set: findings and figures (e.g. coverage %)."""

    findings: list[Finding] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class AgentCache(Protocol):
    """A small persistent key/value cache an agent may use (kept in the store)."""

    async def get(self, key: str) -> Any | None: ...

    async def put(self, key: str, value: Any) -> None: ...


@dataclass(slots=True)
class AgentContext:
    """Everything the core hands an agent besides the change set."""

    repo_path: Path
    config: dict[str, Any]  # this agent's own config section
    analyze_all: bool = False  # --all: whole files, not only changed lines
    cache: AgentCache | None = None
    # The seam for [llm]: an agent asks for an assistant by purpose; None means offline.
    assistant_factory: Callable[[str], Any | None] | None = None
    worktree_factory: Callable[[str], AbstractAsyncContextManager[Path]] | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # the whole config, read-only
    # time.monotonic() by which the agent must return; set by the runner (run_agent_locally).
    deadline: float | None = None
    # What the agent has so far (its offline findings, before a Claude step): kept if it times out.
    partial: AgentOutput | None = None

    def assistant(self, purpose: str) -> Any | None:
        """The LLM assistant for ``purpose``, or None when there is no key or it is switched off.
        It gets this context's ``deadline``: its calls end before the agent's timeout."""
        if self.assistant_factory is None:
            return None
        assistant = self.assistant_factory(purpose)
        if assistant is not None and self.deadline is not None and hasattr(assistant, "deadline"):
            assistant.deadline = self.deadline
        return assistant


@runtime_checkable
class Agent(Protocol):
    """An analyst. Implementations are registered in the ``controlroom.agents`` entry-point group."""

    name: str

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput: ...


@dataclass(slots=True)
class Task:
    """A row of the proactivity queue."""

    id: int
    fingerprint: str
    state: TaskState
    priority: int
    confidence: float
    confidence_reason: str
    severity: Severity
    rule: str
    path: str
    line: int
    message: str
    agents: list[str]
    symbol: str | None
    suggested_fix: str | None
    first_seen_commit: str
    last_seen_commit: str
    seen_count: int
    created_at: float
    updated_at: float
    snoozed_until: float | None = None
    resolved_commit: str | None = None
    reason: str | None = None  # the last decision's reason


AsyncEventStream = AsyncIterator[dict[str, Any]]


@dataclass(slots=True)
class AgentRun:
    """One agent's run on one change set, as convergence and the store see it."""

    agent: str
    status: RunStatus
    duration_s: float
    output: AgentOutput = field(default_factory=AgentOutput)
    error: str | None = None
    started_at: float = 0.0
    where: str = "local"  # "local" or the sub-agent's name
