"""How exposed a removed name was: a name no caller was told about is not a critical removal.

A removed function or class that the parent's module did not list in ``__all__``, that no
package ``__init__`` re-exported, that no documentation file (``.rst``/``.md``/``.txt``, or under
``docs/``) and no test mentioned was an internal helper in all but name: its removal breaks no
caller anyone was told about, so it is low (a nitpick, below the queue's fold). One ``git grep``
over the parent commit answers for every removal of a change set.

Likewise a signature break of a constructor that nothing outside its package calls or subclasses
(an object the library hands out, such as a test runner's result) is low: its only callers are the
package's own, and they changed with it.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path, PurePosixPath

from controlroom.core.model import ChangeSet, Finding, Severity
from controlroom.core.secrets import child_env
from controlroom.core.testpaths import is_test_path
from controlroom.core.toolkit.parsing import parse

DOC_SUFFIXES = {".rst", ".md", ".txt"}
DOC_DIRS = {"docs", "doc"}
GREP_TIMEOUT = 20.0
MAX_NAMES = 200
UNDOCUMENTED = (
    "undocumented: the project's documentation never names it, only its own tests do: medium"
)
INTERNAL = (
    "internal in all but name (not in __all__, re-exported by no package, named by no doc "
    "or test): low"
)


def module_exports(text: str | None) -> set[str]:
    """The names of a module's literal ``__all__`` (empty when it has none)."""
    if not text or "__all__" not in text:
        return set()
    try:
        tree = parse(text, "<module>")  # locked: other threads parse too
    except (SyntaxError, ValueError, RecursionError):
        return set()
    out: set[str] = set()
    for stmt in tree.body:
        value = None
        if isinstance(stmt, ast.Assign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                value = stmt.value
        if isinstance(value, ast.List | ast.Tuple | ast.Set):
            out |= {
                e.value
                for e in value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
    return out


def _git_grep(repo: Path, commit: str, names: list[str], *flags: str) -> str | None:
    """``git grep -w -F`` of ``names`` over ``commit``'s Python and documentation files;
    None when git failed."""
    patterns = [arg for name in names for arg in ("-e", name)]
    cmd = ["git", "-C", str(repo), "grep", "-I", "-w", "-F", "--full-name", *flags, *patterns,
           commit, "--", "*.py", "*.pyi", "*.rst", "*.md", "*.txt"]  # fmt: skip
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=GREP_TIMEOUT, env=child_env(),
            errors="replace",
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode in (0, 1) else None


def mentions(repo: Path, commit: str, names: list[str]) -> dict[str, set[str]] | None:
    """For each name, the files of ``commit`` that mention it as a whole word (None: git failed)."""
    if not names:
        return {}
    out = _git_grep(repo, commit, names, "-o")
    if out is None:
        return None
    found: dict[str, set[str]] = {name: set() for name in names}
    for record in _records(out, commit):
        path, _, word = record.rpartition(":")
        if word in found:
            found[word].add(path)
    return found


def _records(out: str, commit: str) -> list[str]:
    """``git grep <commit>``'s lines without their ``<commit>:`` prefix (``path:match``)."""
    prefix = f"{commit}:"
    return [line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix)]


def told_by(
    name: str, home: str, paths: set[str], exports: set[str], owner_docs: set[str] | None = None
) -> str | None:
    """How callers were told about ``name`` (defined in ``home``): "exported", "documented",
    "re-exported" or "tested" (only the project's own tests name it); None: never told.
    ``owner_docs``: for a method, the files naming its class; a document counts only among them
    (Django's docs name ``BoundField.is_hidden``, not ``ForeignObjectRel.is_hidden``)."""
    if name in exports:
        return "exported"
    tested = False
    for path in sorted(paths):
        pure = PurePosixPath(path)
        if pure.suffix in DOC_SUFFIXES or DOC_DIRS & set(pure.parts[:-1]):
            if owner_docs is None or path in owner_docs:
                return "documented"
            continue
        if pure.name == "__init__.py" and path != home and not is_test_path(path):
            return "re-exported"
        tested = tested or is_test_path(path)
    return "tested" if tested else None


def has_documentation(repo: Path, commit: str) -> bool:
    """Whether ``commit`` holds a documentation tree (``docs/`` or ``doc/`` with text files)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", commit, "--", *DOC_DIRS],
            capture_output=True, text=True, timeout=GREP_TIMEOUT, check=False, env=child_env(),
        ).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(PurePosixPath(line).suffix in DOC_SUFFIXES for line in out.splitlines())


def lower_internal_removals(change: ChangeSet, findings: list[Finding]) -> None:
    """Critical/high/medium removals of names nobody was told about become low (in place)."""
    removals = [
        f
        for f in findings
        if f.rule == "IMP101"
        and f.symbol
        and f.severity.rank > Severity.LOW.rank
        and (f.extra.get("api") or {}).get("kind") in ("function", "class", "alias", "attribute")
    ]
    if not removals or not change.parent:
        return
    names = {f.symbol.rpartition(".")[2] for f in removals if f.symbol}
    owners = {f.symbol.rpartition(".")[0].rpartition(".")[2] for f in removals if f.symbol}
    found = mentions(
        Path(change.repo_path), change.parent, sorted(names | owners - {""})[:MAX_NAMES]
    )
    if found is None:
        return
    olds = {(c.old_path or c.path): c.old_text for c in change.files}
    documented: bool | None = None  # asked once, when a removal only tests name
    for f in removals:
        name = (f.symbol or "").rpartition(".")[2]
        if name not in found or name.startswith("__"):
            continue
        others = found[name] - {f.path}
        exports = module_exports(olds.get(f.path))
        if (f.symbol or "").partition(".")[0] in exports:  # a method of an exported class
            continue
        owner = (f.symbol or "").rpartition(".")[0].rpartition(".")[2]
        told = told_by(name, f.path, others, exports, found.get(owner) if owner else None)
        if told == "tested" and f.severity is Severity.CRITICAL:
            if documented is None:
                documented = has_documentation(Path(change.repo_path), change.parent)
            if documented:  # Django: its own tests use internals its documentation never names
                _reranked(f, Severity.MEDIUM, UNDOCUMENTED, "undocumented")
            continue
        if told is not None:
            continue
        _reranked(f, Severity.LOW, INTERNAL, "internal")


def _reranked(f: Finding, severity: Severity, reason: str, flag: str) -> None:
    """Give ``f`` ``severity``, say why before where a removed object was ("; was at ..."), and
    mark it with ``extra[flag]``."""
    said, sep, where = f.message.partition("; was at ")
    f.severity = severity
    f.message = f"{said}; {reason}{sep}{where}"
    f.extra[flag] = True


BUILT_INSIDE = (
    "only its own package constructs {cls} (no test, documentation or example outside it calls "
    "or subclasses it), and those calls changed with it: low"
)


def package_dir(path: str, object_path: str) -> str:
    """The folder of the top-level package ``object_path`` lives in: ``src/click`` for
    ``src/click/testing.py`` and ``click.testing.Result``."""
    top = object_path.partition(".")[0]
    parts = PurePosixPath(path).parts
    return "/".join(parts[: parts.index(top) + 1]) if top in parts[:-1] else ""


def lower_package_built_constructors(change: ChangeSet, findings: list[Finding]) -> None:
    """Signature breaks of a class's constructor that nothing outside its package calls or
    subclasses (objects a library hands out, like a test runner's result) become low."""
    targets = [
        f
        for f in findings
        if f.rule == "IMP102"
        and f.severity.rank > Severity.LOW.rank
        and (f.symbol or "").endswith((".__init__", ".__new__"))
    ]
    if not targets:
        return
    classes = sorted({(f.symbol or "").rsplit(".", 2)[-2] for f in targets})[:MAX_NAMES]
    lines = grep_lines(Path(change.repo_path), change.commit, classes)
    if lines is None:
        return
    for f in targets:
        cls = (f.symbol or "").rsplit(".", 2)[-2]
        home = package_dir(f.path, str(f.extra.get("object_path") or ""))
        if not home or cls.startswith("_"):
            continue
        used = re.compile(rf"\b{re.escape(cls)}\s*\(|^\s*class\s+\w+\s*\(.*\b{re.escape(cls)}\b")
        outside = [text for path, text in lines.get(cls, []) if not path.startswith(home + "/")]
        if any(used.search(text) for text in outside):
            continue
        _reranked(f, Severity.LOW, BUILT_INSIDE.format(cls=cls), "built_inside")


_CLASS_LINE = re.compile(r"^\s*class\s")
USED_IN_MODULE = (
    "only {path} builds and names {cls} (no import, test, documentation or subclass elsewhere): "
    "the callers are in that module and changed with it: low"
)


def lower_module_only_classes(change: ChangeSet, findings: list[Finding]) -> None:
    """Signature breaks of the methods of a class that its own module builds and no other file
    names at all (a plugin's own transformer, a parser's helper class) become low: only its
    module calls them."""
    targets = [
        f
        for f in findings
        if f.rule == "IMP102"
        and f.severity.rank > Severity.LOW.rank
        and (f.symbol or "").count(".") == 1
        and not (f.symbol or "").endswith((".__init__", ".__new__"))
    ]
    if not targets:
        return
    classes = sorted({(f.symbol or "").split(".")[0] for f in targets})[:MAX_NAMES]
    lines = grep_lines(Path(change.repo_path), change.commit, classes)
    if lines is None:
        return
    for f in targets:
        cls = (f.symbol or "").split(".")[0]
        if cls not in lines or _named_elsewhere(cls, f.path, lines[cls]):
            continue
        built = re.compile(rf"\b{re.escape(cls)}\s*\(")  # the module makes its own objects
        if not any(built.search(text) and not _CLASS_LINE.match(text) for _, text in lines[cls]):
            continue  # a class for its users to build: nothing says who calls its methods
        if f.extra.get("also"):  # the same change in other classes too (folded): not only here
            continue
        reason = USED_IN_MODULE.format(path=f.path, cls=cls)
        _reranked(f, Severity.LOW, reason, "module_only_class")


def _named_elsewhere(cls: str, home: str, lines: list[tuple[str, str]]) -> bool:
    """Whether a file other than ``home`` names ``cls`` and means it: a file that binds the name
    itself (its own ``class cls``, ``import x as cls``, ``cls = ...``; pydantic's v1 copy of the
    mypy plugin) speaks of its own object."""
    binds = re.compile(
        rf"^\s*class\s+{re.escape(cls)}\b|\bas\s+{re.escape(cls)}\b|^\s*{re.escape(cls)}\s*[:=]"
    )
    others: dict[str, list[str]] = {}
    for path, text in lines:
        if path != home:
            others.setdefault(path, []).append(text)
    return any(not any(binds.search(text) for text in texts) for texts in others.values())


def grep_lines(
    repo: Path, commit: str, names: list[str]
) -> dict[str, list[tuple[str, str]]] | None:
    """For each name, ``(path, line text)`` of the lines of ``commit`` holding it as a whole
    word; None when git failed."""
    out = _git_grep(repo, commit, names) if names else ""
    if out is None:
        return None
    found: dict[str, list[tuple[str, str]]] = {name: [] for name in names}
    for record in _records(out, commit):
        path, _, text = record.partition(":")
        for name in names:
            if re.search(rf"\b{re.escape(name)}\b", text):
                found[name].append((path, text))
    return found


WARNING_CLASS = "the warning class of a deprecation cycle that ended with this release: low"
# DEFAULT_FILE_STORAGE_DEPRECATED_MSG, DEPRECATION_MESSAGE: the text a deprecation warned with.
DEPRECATION_TEXT = re.compile(r"DEPRECAT", re.IGNORECASE)
WARNING_TEXT = "the warning text of a deprecation cycle that ended with this release: low"
INTERNAL_MODULE = (
    "no documentation or test names {dotted} and no other module imports it: internal in all "
    "but name: low"
)


def lower_ended_cycles_and_internal_modules(change: ChangeSet, findings: list[Finding]) -> None:
    """A removed deprecation-warning class (``RemovedInDjango51Warning``: it existed to announce
    removals now made), a removed attribute named for a deprecation (Django's
    ``DEFAULT_FILE_STORAGE_DEPRECATED_MSG``: the text it warned with) and a removed submodule that no documentation, no test and no other
    module imports by its dotted path (``pkg.geoip2.base``) are low."""
    from controlroom.agents.impact.deprecations import CONVENTIONAL

    modules: list[Finding] = []
    for f in findings:
        if f.rule != "IMP101" or f.severity.rank <= Severity.LOW.rank:
            continue
        kind = (f.extra.get("api") or {}).get("kind")
        name = (f.symbol or "").rpartition(".")[2]
        if kind == "class" and CONVENTIONAL.search(name):
            f.severity = Severity.LOW
            f.message = f"{f.message.partition('; was at ')[0]}; {WARNING_CLASS}"
        elif kind == "attribute" and DEPRECATION_TEXT.search(name):
            f.severity = Severity.LOW
            f.message = f"{f.message.partition('; was at ')[0]}; {WARNING_TEXT}"
        elif kind == "module" and str(f.extra.get("object_path") or "").count(".") >= 2:
            modules.append(f)
    if not modules or not change.parent:
        return
    # Named by its last two parts ("geoip2.base"): an import or a mention of the dotted path.
    tails = sorted({_last_two(str(f.extra["object_path"])) for f in modules})
    lines = grep_lines(Path(change.repo_path), change.parent, tails)
    if lines is None:
        return
    gone = {c.old_path or c.path for c in change.files if c.new_text is None}  # deleted here,
    gone |= {c.old_path for c in change.files if c.old_path and c.old_path != c.path}  # renamed
    for f in modules:
        path_name = str(f.extra["object_path"])
        users = [p for p, _ in lines.get(_last_two(path_name), []) if p != f.path and p not in gone]
        if users:
            continue
        f.severity = Severity.LOW
        f.message = f"{f.message}; {INTERNAL_MODULE.format(dotted=path_name)}"
        f.extra["internal"] = True


def _last_two(dotted: str) -> str:
    return ".".join(dotted.split(".")[-2:])
