"""The [signal] harness's pure parts: the resolution oracle, the changelog matcher, the label arithmetic.

Nothing here runs git or controlroom; run.py feeds it text and task dicts, tests feed it tiny examples.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

VERDICTS = ("worth", "trivial", "false")
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")
KIND_WORDS = {
    "deprecation": re.compile(r"deprecat", re.I),
    "removal": re.compile(r"\b(removed|no longer exists|moved)\b", re.I),
    "signature": re.compile(r"\b(parameter|signature|argument|positional|keyword)s?\b", re.I),
}

WAS_REMOVED = re.compile(r"\b(was|were|has been|have been) removed\b", re.I)


@dataclass(frozen=True)
class FileChange:
    """What a diff did to one file of the older side: deleted, or these old lines touched."""

    deleted: bool
    lines: frozenset[int]


def changed_old_lines(diff: str) -> dict[str, FileChange]:
    """Old-side lines each file's diff touched (`git diff -U0 A B` text).

    A pure insertion after old line L touches L and L + 1, so a docstring added under a `def` counts
    as a change of that `def`'s line.
    """
    changes: dict[str, FileChange] = {}
    path: str | None = None
    deleted = False
    lines: set[int] = set()

    def flush() -> None:
        if path is not None:
            changes[path] = FileChange(deleted, frozenset(lines))

    for raw in diff.splitlines():
        if raw.startswith("diff --git "):
            flush()
            path, deleted, lines = None, False, set()
        elif raw.startswith("--- "):
            name = raw[4:].strip()
            path = name[2:] if name.startswith("a/") else None
        elif raw.startswith("+++ ") and raw[4:].strip() == "/dev/null":
            deleted = True
        elif match := HUNK.match(raw):
            start = int(match.group(1))
            count = 1 if match.group(2) is None else int(match.group(2))
            if count == 0:
                lines.update((start, start + 1))
            else:
                lines.update(range(start, start + count))
    flush()
    return changes


def location_span(source: str | None, line: int) -> tuple[int, int]:
    """The lines a task at `line` flags: the statement there, or a def/class header with its docstring.

    A `def`/`class` line stands for its decorators, signature and docstring (what doc, API and test
    tasks speak of), not its whole body; any other line for the innermost statement holding it (a
    compound statement's header only). Without parseable source: the line alone.
    """
    if not source or line <= 0:
        return (line, line)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return (line, line)
    best: tuple[int, int] | None = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno, *(d.lineno for d in decorators)])
        last = node.end_lineno or node.lineno
        if not first <= line <= last:
            continue
        body = getattr(node, "body", None)
        if body:
            header_end = body[0].lineno - 1
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if _is_docstring(body[0]):
                    header_end = body[0].end_lineno or header_end
                if line > header_end:
                    continue
            elif line > header_end:
                continue
            span = (first, max(first, header_end))
        else:
            span = (first, last)
        if best is None or span[1] - span[0] <= best[1] - best[0]:
            best = span
    return best or (line, line)


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def location_changed(task: dict, changes: dict[str, FileChange], source: str | None) -> bool:
    """Did the fix commit touch the task's location (its file removed, or a line of its span changed)?"""
    change = changes.get(task.get("path") or "")
    if change is None:
        return False
    if change.deleted:
        return True
    first, last = location_span(source, int(task.get("line") or 0))
    return any(first <= n <= last for n in change.lines)


def is_untested_claim(task: dict) -> bool:
    """Does the task claim that no test exercises its code?"""
    return "not exercised by any test" in (task.get("message") or "")


def claim_parts(task: dict) -> list[dict]:
    """What a task claims about, one dict per place: a grouped task's items (each with the task's
    rule and message), else the task itself."""
    return [{**task, **item} for item in task.get("items") or [task]]


def exercised(task: dict, executed: set[int], source: str | None) -> bool | None:
    """Did the suite run a line of the body of the function (or class's methods) the task points at?

    The `def` line itself runs at import, so only body lines after the docstring count. None when the
    task's line is on no function or class.
    """
    if not source:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    line = int(task.get("line") or 0)
    target = None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if first <= line <= (node.end_lineno or node.lineno) and (
                target is None or node.lineno >= target.lineno
            ):
                target = node
    if target is None:
        return None
    body_lines: set[int] = set()
    for node in ast.walk(target):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = (
                node.body[1:] if len(node.body) > 1 and _is_docstring(node.body[0]) else node.body
            )
            body_lines.update(range(body[0].lineno, (node.end_lineno or body[0].lineno) + 1))
    return bool(body_lines & executed)


def kinds_of(task: dict) -> set[str]:
    """The changelog kinds a task's rule and message speak of."""
    text = f"{task.get('rule', '')} {task.get('message', '')}"
    found = {kind for kind, words in KIND_WORDS.items() if words.search(text)}
    if WAS_REMOVED.search(text):  # "was removed (it was deprecated before)": a removal
        found.discard("deprecation")
    elif "deprecation" in found:  # "deprecated, not removed": a deprecation
        found.discard("removal")
    return found


def names_item(task: dict, name: str) -> bool:
    """Does the task's message or symbol name the dotted name's last component, as a whole word?"""
    last = name.rsplit(".", 1)[-1]
    text = f"{task.get('symbol') or ''} {task.get('message', '')}"
    return re.search(rf"(?<![\w]){re.escape(last)}(?![\w])", text) is not None


def changelog_reported(expected: list[dict], tasks: list[dict]) -> list[tuple[dict, dict | None]]:
    """Each expected changelog item with the first task that reports it (same name, same kind;
    a grouped task reports what its items' findings say), or None."""
    result = []
    for item in expected:
        hit = next(
            (
                t
                for t in tasks
                if any(
                    item["kind"] in kinds_of(said) and names_item(said, item["name"])
                    for said in _said(t)
                )
            ),
            None,
        )
        result.append((item, hit))
    return result


def _said(task: dict) -> list[dict]:
    """What a task says: itself, and for a grouped task each item's own finding (its message)."""
    return [task, *({"rule": task.get("rule"), **i} for i in task.get("items") or [])]


@dataclass
class Judged:
    """The labels' verdicts on the first N tasks."""

    worth: int
    trivial: int
    false: int
    unlabelled: list[dict]
    false_critical: list[dict]

    @property
    def labelled(self) -> int:
        return self.worth + self.trivial + self.false

    @property
    def precision(self) -> float | None:
        return self.worth / self.labelled if self.labelled else None


def describe(task: dict) -> str:
    """The one line a label keeps of its task (`task = ...`), to see when the task changed since."""
    message = (task.get("message") or "")[:120]
    return (
        f"[{task.get('severity')}] {task.get('rule')} {task.get('path')}:{task.get('line')}"
        f" {task.get('symbol') or ''}: {message}"
    )


def changed_since_labelled(tasks: list[dict], labels: dict[str, dict]) -> list[tuple[dict, str]]:
    """Labelled tasks whose severity, rule, location or message differ from what was labelled."""
    return [
        (task, labels[task["fingerprint"]]["task"])
        for task in tasks
        if task["fingerprint"] in labels
        and "task" in labels[task["fingerprint"]]
        and labels[task["fingerprint"]]["task"] != describe(task)
    ]


def label_stub(task: dict) -> str:
    """A [[label]] entry to fill in for an unlabelled task."""
    return (
        f'[[label]]\nfingerprint = "{task["fingerprint"]}"\nverdict = ""   # worth | trivial | false\n'
        f'reason = ""\ntask = {json.dumps(describe(task))}\n'
    )


def load_labels(path: Path) -> dict[str, dict]:
    """Labels by fingerprint from labels/<case>.toml (missing file: no labels)."""
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    labels = {}
    for label in data.get("label", []):
        if label.get("verdict") not in VERDICTS:
            raise ValueError(
                f"{path}: {label.get('fingerprint')}: verdict must be one of {VERDICTS}"
            )
        labels[label["fingerprint"]] = label
    return labels


def judge(tasks: list[dict], labels: dict[str, dict]) -> Judged:
    """Count verdicts; a critical task is a false critical unless it is labelled worth acting on."""
    counts = dict.fromkeys(VERDICTS, 0)
    unlabelled, false_critical = [], []
    for task in tasks:
        label = labels.get(task["fingerprint"])
        if label is None:
            unlabelled.append(task)
            continue
        verdict = label["verdict"]
        if task.get("severity") == "critical" and verdict != "worth":
            verdict = "false"
            false_critical.append(task)
        counts[verdict] += 1
    return Judged(counts["worth"], counts["trivial"], counts["false"], unlabelled, false_critical)


RUFF_RULE = re.compile(
    r"^[A-Z]+[0-9]+$"
)  # a ruff code (the critic's findings); CR/DOC/IMP/TEST are ours


def persists(
    task: dict, later: str | None, seen_again: bool, earlier: str | None = None
) -> str | None:
    """Why a task the later release touched is not a real fix, or None.

    Seen again: the agents found it in the later analysis. A ruff rule: ruff itself (the tool the
    critic wraps, with the critic's complexity limit) still reports the rule inside the same
    definition of the later file (a task there may not be re-examined when the commit did not
    change those lines). A docstring rule (DOC...): the definition's docstring and parameters are
    the same in both releases (lines moved around it, e.g. overloads inserted above)."""
    if seen_again:
        return "found again by the later analysis"
    rule = str(task.get("rule") or "")
    if rule.startswith(("IMP1", "IMP2")):  # core/resolution.py never resolves them by absence
        return "an API change or migration is an event of its release: a later one does not undo it"
    if rule.startswith("DOC") and earlier is not None and later is not None:
        symbol = str(task.get("symbol") or "")
        before, after = _doc_and_args(earlier, symbol), _doc_and_args(later, symbol)
        if before is not None and before == after:
            return f"{symbol}'s docstring and parameters are unchanged"
        return None
    if later is None or not RUFF_RULE.match(rule) or rule.startswith(("CR", "DOC", "IMP", "TEST")):
        return None
    import shutil
    import subprocess

    ruff = shutil.which("ruff")
    if ruff is None:
        return None
    done = subprocess.run(
        [ruff, "check", "--isolated", "--select", rule, "--config",
         "lint.mccabe.max-complexity = 10", "--output-format", "json", "--stdin-filename",
         str(task.get("path") or "m.py"), "-"],
        input=later, capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        rows = [item["location"]["row"] for item in json.loads(done.stdout or "[]")]
    except (ValueError, KeyError, TypeError):
        return None
    span = _definition_span(later, str(task.get("symbol") or ""))
    if any(span[0] <= row <= span[1] for row in rows):
        return f"ruff still reports {rule} in {task.get('symbol') or 'the file'}"
    return None


def _doc_and_args(source: str, symbol: str) -> tuple[str | None, str] | None:
    """The docstring and the parameter list (dumped) of the last definition named ``symbol``
    (``Class.method``; overloads come first; the module's docstring for no symbol), or None."""
    try:
        module = ast.parse(source)
    except SyntaxError:
        return None
    if not symbol:  # the module itself
        return ast.get_docstring(module), ""
    body: list[ast.stmt] = module.body
    node: ast.AST | None = None
    for part in [p for p in symbol.split(".") if p]:
        defs = [
            n for n in body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == part
        ]  # fmt: skip
        if not defs:
            return None
        node = defs[-1]
        body = node.body
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return None
    args = ast.dump(node.args) if not isinstance(node, ast.ClassDef) else ""
    return ast.get_docstring(node), args


def _definition_span(source: str, symbol: str) -> tuple[int, int]:
    """The lines of the definition named ``symbol`` (``Class.method``) in ``source``; the whole
    file when there is none."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return (1, 10**9)
    body, span = tree.body, (1, 10**9)
    for part in [p for p in symbol.split(".") if p]:
        node = next(
            (n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
             and n.name == part),
            None,
        )  # fmt: skip
        if node is None:
            return span
        body, span = node.body, (node.lineno, node.end_lineno or node.lineno)
    return span
