"""A README.md for a package directory, from its modules, public API and docstrings.

Static only: every module is read with ``ast``; the package is never imported, so nothing of it runs.
Public means: listed in a literal ``__all__`` when the module has one, else not starting with ``_``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from controlroom.core.errors import UsageError
from controlroom.core.sourcetext import decode_python

SKIP_DIRS = {"tests", "test", "__pycache__", "build", "dist"}


@dataclass(slots=True)
class ApiItem:
    name: str
    signature: str
    summary: str
    methods: list[tuple[str, str]] = field(default_factory=list)  # (signature, summary)


@dataclass(slots=True)
class ModuleDoc:
    dotted: str
    summary: str
    items: list[ApiItem]
    error: str | None = None


def first_paragraph(docstring: str | None) -> str:
    """The first paragraph of a docstring, joined into one line."""
    if not docstring:
        return ""
    paragraph = docstring.strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"


def _class_signature(node: ast.ClassDef) -> str:
    bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    return f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"


def _exports(tree: ast.Module) -> set[str] | None:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return None
            return {v for v in value if isinstance(v, str)}
    return None


def module_doc(path: Path, dotted: str, max_bytes: int | None = None) -> ModuleDoc:
    """The documented public surface of one module (skipped when over ``max_bytes``)."""
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            return ModuleDoc(dotted, "", [], error=f"too large ({size} bytes)")
        text = decode_python(path.read_bytes())
        if text is None:
            return ModuleDoc(dotted, "", [], error="undecodable")
        tree = ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError, OSError, RecursionError, MemoryError) as exc:
        return ModuleDoc(dotted, "", [], error=type(exc).__name__)
    exports = _exports(tree)

    def public(name: str) -> bool:
        return name in exports if exports is not None else not name.startswith("_")

    items = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and public(node.name):
            items.append(
                ApiItem(node.name, _signature(node), first_paragraph(ast.get_docstring(node)))
            )
        elif isinstance(node, ast.ClassDef) and public(node.name):
            item = ApiItem(
                node.name, _class_signature(node), first_paragraph(ast.get_docstring(node))
            )
            for child in node.body:
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and (
                    not child.name.startswith("_") or child.name == "__init__"
                ):
                    summary = first_paragraph(ast.get_docstring(child))
                    item.methods.append((_signature(child), summary))
            items.append(item)
    return ModuleDoc(dotted, first_paragraph(ast.get_docstring(tree)), items)


def package_modules(package: Path) -> list[tuple[Path, str]]:
    """(file, dotted name) of every public module under ``package``, sorted by name."""
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        parts = [package.name, *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts[1:]):
            continue
        found.append((path, ".".join(parts)))
    return sorted(found, key=lambda item: item[1])


def build_readme(package: Path, max_bytes: int | None = None) -> str:
    """The README text for the package directory ``package``; modules over ``max_bytes`` are
    listed as skipped, never read."""
    package = package.resolve()
    if not package.is_dir():
        raise UsageError(f"not a directory: {package}")
    modules = [module_doc(path, dotted, max_bytes) for path, dotted in package_modules(package)]
    if not modules:
        raise UsageError(f"no Python modules under {package}")
    root = next((m for m in modules if m.dotted == package.name), None)
    out = [f"# {package.name}", ""]
    if root is not None and root.summary:
        out += [root.summary, ""]
    out += ["## Modules", "", "| module | purpose |", "|---|---|"]
    for m in modules:
        skipped = m.error and m.error.startswith("too large")
        purpose = f"(skipped: {m.error})" if skipped else "(does not parse)" if m.error else ""
        purpose = purpose or m.summary or ""
        purpose = purpose.replace("|", "\\|")
        out.append(f"| `{m.dotted}` | {purpose} |")
    out += ["", "## Public API", ""]
    for m in modules:
        if not m.items:
            continue
        out += [f"### `{m.dotted}`", ""]
        for item in m.items:
            out.append(f"- `{item.signature}`" + (f": {item.summary}" if item.summary else ""))
            for signature, summary in item.methods:
                out.append(f"  - `{signature}`" + (f": {summary}" if summary else ""))
        out.append("")
    undocumented = sum(1 for m in modules for i in m.items if not i.summary) + sum(
        1 for m in modules if not m.summary and not m.error
    )
    total = sum(len(m.items) for m in modules) + len(modules)
    out.append(
        f"_Generated by `controlroom docs readme` from the source ({len(modules)} modules; "
        f"{total - undocumented} of {total} public modules, classes and functions documented)._"
    )
    return "\n".join(out) + "\n"
