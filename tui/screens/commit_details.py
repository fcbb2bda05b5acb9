"""``enter`` on a commit: its findings grouped by file and by agent, and every agent's run."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.text import Text

from controlroom.core.history import commit_findings, commit_runs, get_commit
from controlroom.core.queue import FindingRecord
from controlroom.tui.format import duration, readable, severity_label
from controlroom.tui.host import host
from controlroom.tui.screens.details_base import DetailsScreen, heading

# Metrics worth naming first when an agent reports them (others follow, as reported).
_KNOWN_METRICS = {
    "doc_coverage": "doc coverage",
    "test_coverage": "test coverage",
    "coverage": "coverage",
    "blast_radius": "blast radius",
}


def format_metrics(metrics: dict[str, Any]) -> str:
    if not metrics:
        return ""
    known = [k for k in _KNOWN_METRICS if k in metrics]
    rest = sorted(k for k in metrics if k not in _KNOWN_METRICS)
    parts = []
    for key in known + rest:
        value = metrics[key]
        if isinstance(value, float):
            value = f"{value:.1f}"
        elif isinstance(value, dict | list):
            value = readable(value).replace("\n", "; ")
        parts.append(f"{_KNOWN_METRICS.get(key, key)} {value}")
    return ", ".join(parts)


def by_file(findings: list[FindingRecord]) -> Text:
    grouped: dict[str, list[FindingRecord]] = defaultdict(list)
    for f in findings:
        grouped[f.path].append(f)
    text = Text()
    for path in sorted(grouped):
        items = grouped[path]
        text.append(f"{path} ({len(items)})\n", style="bold")
        for f in sorted(items, key=lambda f: (f.line, f.agent)):
            text.append(
                f"  L{f.line:<5} {severity_label(f.severity):<4} {f.rule:<8} {f.agent:<8} "
                f"{f.message}\n"
            )
    return text


def by_agent(findings: list[FindingRecord]) -> Text:
    grouped: dict[str, list[FindingRecord]] = defaultdict(list)
    for f in findings:
        grouped[f.agent].append(f)
    text = Text()
    for agent in sorted(grouped):
        items = grouped[agent]
        rules: dict[str, int] = defaultdict(int)
        for f in items:
            rules[f.rule] += 1
        summary = ", ".join(f"{rule} x{n}" for rule, n in sorted(rules.items()))
        text.append(f"{agent} ({len(items)})", style="bold")
        text.append(f": {summary}\n")
    return text


async def impact_section(store: Any, sha: str) -> list[Text | str]:
    """What the commit did to the running system: before/after/delta per metric (correlator)."""
    from controlroom.core.correlator.store import commit_metrics_detail

    detail = await commit_metrics_detail(store, sha)
    if detail is None:
        return [
            heading("Runtime impact"),
            "No baseline: `controlroom correlate baseline` before a deploy.",
        ]
    text = Text(f"impact {detail.impact.label}\n")
    text.append(f"{'metric':<22}{'before':>14}{'after':>14}{'delta':>10}  note\n", style="bold")
    for d in detail.deltas:
        before = "-" if d.before is None else f"{d.before.mean:.1f}±{d.before.spread:.1f}"
        after = "-" if d.after is None else f"{d.after.mean:.1f}±{d.after.spread:.1f}"
        delta = "-" if d.delta is None else f"{d.delta:+.1f}"
        text.append(f"{d.name:<22}{before:>14}{after:>14}{delta:>10}  {d.level.value} {d.note}\n")
    if not detail.deltas:
        text.append("baseline taken; no delta measured yet (`controlroom correlate delta`)\n")
    return [heading("Runtime impact"), text]


class CommitDetailsScreen(DetailsScreen):
    heading = "Commit"

    def __init__(self, sha: str) -> None:
        super().__init__()
        self.sha = sha

    async def load(self) -> list[Text | str]:
        store = host(self).store
        commit = await get_commit(store, self.sha)
        if commit is None:
            return [f"Commit {self.sha[:10]} is not in the store."]
        self.query_one("#details-body").border_title = f"Commit {commit.sha[:10]} (esc back)"
        findings = await commit_findings(store, self.sha)
        runs = await commit_runs(store, self.sha)
        sections: list[Text | str] = [
            Text(
                f"{commit.sha}\n{commit.subject}\nby {commit.author or '-'}  "
                f"analyzed in {duration(commit.duration_s)}  agents ok {commit.agents_ok}, "
                f"failed {commit.agents_failed}\nfindings {commit.findings_count} in "
                f"{commit.files_flagged} files, consensus {commit.consensus_count}, "
                f"critical {commit.critical_count}\ntasks new {commit.tasks_created}, "
                f"updated {commit.tasks_updated}, resolved {commit.tasks_resolved}"
            )
        ]
        if commit.skipped:
            skipped = "\n".join(f"  {s.get('path')}: {s.get('reason')}" for s in commit.skipped)
            sections.append(Text(f"Files skipped:\n{skipped}"))
        sections.append(heading(f"Agent runs ({len(runs)})"))
        if not runs:
            sections.append("No agent run is recorded for this commit.")
        for run in runs:
            line = Text.assemble(
                (f"{run.agent:<10}", "bold"),
                f" {run.status.upper():<8} {duration(run.duration_s):>6}  "
                f"{run.findings_count} findings",
            )
            metrics = format_metrics(run.metrics)
            if metrics:
                line.append(f"\n  {metrics}")
            if run.error:
                line.append(f"\n  error: {run.error}")
            sections.append(line)
        sections.extend(await impact_section(store, self.sha))
        sections.append(heading(f"Findings by file ({len(findings)})"))
        sections.append(by_file(findings) if findings else "No findings.")
        if findings:
            sections.append(heading("Findings by agent"))
            sections.append(by_agent(findings))
        return sections
