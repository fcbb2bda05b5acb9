"""``controlroom docs readme PATH [--write]``: a README.md for a package, from its source only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controlroom.core.errors import UsageError
from controlroom.tui.escape import terminal_safe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("docs", parents=[common], help="documentation helpers")
    actions = p.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    readme = actions.add_parser(
        "readme",
        parents=[common],
        help="a README.md for a package directory from its modules and docstrings",
    )
    readme.add_argument("path", metavar="PATH", help="the package directory")
    readme.add_argument(
        "--write", action="store_true", help="write PATH/README.md instead of printing it"
    )
    readme.add_argument(
        "--force", action="store_true", help="with --write: replace an existing README.md"
    )
    readme.set_defaults(handler=run_readme)


def _max_file_bytes(args: argparse.Namespace, package: Path) -> int:
    """``git.max_file_bytes`` of the repository holding ``package`` (or the defaults)."""
    from controlroom.core.config import load_config
    from controlroom.core.errors import RepositoryError
    from controlroom.core.workspace import find_repo_root

    try:
        root: Path | None = find_repo_root(Path(args.repo or package).resolve())
    except RepositoryError:
        root = None
    config = load_config(root, Path(args.config) if args.config else None)
    return int(config.get("git.max_file_bytes"))


def _root_docstring(package: Path) -> str:
    import ast

    from controlroom.core.sourcetext import decode_python

    init = package / "__init__.py"
    try:
        return ast.get_docstring(ast.parse(decode_python(init.read_bytes()) or "")) or ""
    except (OSError, SyntaxError, ValueError):
        return ""


def markdown_titles(text: str, package: Path) -> str:
    """reST section titles left in the summaries (``Title ~~~~~``) as Markdown: the package's
    title becomes a ``##`` heading followed by its first paragraph; a module's keeps the title."""
    from controlroom.core.resttext import first_paragraph_after_title, joined_title

    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("| `") and line.endswith(" |"):
            head, _, cell = line[:-2].rpartition(" | ")
            found = joined_title(cell)
            if found is not None:
                lines[i] = f"{head} | {': '.join(p for p in found if p)} |"
        elif i == 2 and lines[0].startswith("# "):  # the package's own summary
            found = joined_title(line)
            if found is not None:
                title, rest = found
                after = rest or first_paragraph_after_title(_root_docstring(package))
                lines[i] = f"## {title}" + (f"\n\n{after}" if after else "")
    return "\n".join(lines)


def run_readme(args: argparse.Namespace) -> int:
    """Print (or write) the README; the package is parsed, never imported."""
    from controlroom.agents.docs.readme import build_readme

    package = Path(args.path)
    text = markdown_titles(build_readme(package, max_bytes=_max_file_bytes(args, package)), package)
    if not args.write:
        sys.stdout.write(terminal_safe(text, multiline=True))  # docstrings are repository text
        return 0
    target = package / "README.md"
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; add --force to replace it")
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0
