"""Database migrations in a commit: Django ``migrations/``, Alembic ``versions/``, ``.sql`` files.

Destructive operations (data is lost or every reader breaks) are critical: DROP TABLE/COLUMN,
TRUNCATE, column type changes; Django RemoveField, DeleteModel, RenameField without ``db_column``;
Alembic drop_table/drop_column and alter_column with ``type_=``. Alembic ``downgrade()`` and
``*down*.sql`` files are rollbacks and are not flagged.
"""

from __future__ import annotations

import ast
import re
from pathlib import PurePosixPath
from typing import Any

from controlroom.core.model import Severity

DJANGO_DESTRUCTIVE = {
    "RemoveField": "drops a column",
    "DeleteModel": "drops a table",
    "RenameField": "renames a column (no db_column keeps the old name)",
}
DJANGO_RISKY = {
    "AlterField": "alters a column definition (its type may change)",
    "RenameModel": "renames a table",
    "RunSQL": "runs raw SQL",
    "RemoveConstraint": "drops a constraint",
    "RemoveIndex": "drops an index",
}
ALEMBIC_DESTRUCTIVE = {"drop_table": "drops a table", "drop_column": "drops a column"}
ALEMBIC_RISKY = {"rename_table": "renames a table", "drop_constraint": "drops a constraint"}
_SQL_RULES = [
    (re.compile(r"\bDROP\s+TABLE\b", re.I), "DROP TABLE", True),
    (re.compile(r"\bDROP\s+COLUMN\b", re.I), "DROP COLUMN", True),
    (re.compile(r"\bALTER\s+TABLE\b[^;]*?\bDROP\s+(?!CONSTRAINT|INDEX|DEFAULT|NOT)\w+", re.I | re.S),
     "DROP COLUMN", True),
    (re.compile(r"\bTRUNCATE\b", re.I), "TRUNCATE", True),
    (re.compile(r"\bALTER\s+COLUMN\s+\w+\s+(SET\s+DATA\s+)?TYPE\b", re.I), "column type change", True),
    (re.compile(r"\bMODIFY\s+(COLUMN\s+)?\w+\s+\w+", re.I), "column type change", True),
    (re.compile(r"\bDELETE\s+FROM\s+\w+\s*;", re.I), "DELETE without WHERE", True),
    (re.compile(r"\bDROP\s+(INDEX|CONSTRAINT|VIEW)\b", re.I), "DROP INDEX/CONSTRAINT/VIEW", False),
    (re.compile(r"\bRENAME\s+(TO|COLUMN)\b", re.I), "rename", False),
]  # fmt: skip


HIGH_RISK = {"AlterField", "RenameModel", "rename_table", "rename"}


def risky_severity(op: str) -> Severity:
    """Severity of a notable but not destructive operation."""
    return Severity.HIGH if op in HIGH_RISK else Severity.MEDIUM


def is_python_migration(path: str, source: str) -> bool:
    """A Django migration module or an Alembic revision script."""
    return framework(path, source) is not None


def framework(path: str, source: str) -> str | None:
    parts = PurePosixPath(path).parts
    if PurePosixPath(path).name == "__init__.py":
        return None
    if "migrations" in parts[:-1] and "class Migration" in source:
        return "django"
    if "versions" in parts[:-1] and "def upgrade" in source and "revision" in source:
        return "alembic"
    return None


def is_migration_path(path: str, source: str | None) -> bool:
    """Any migration: a Python migration or a ``.sql`` file."""
    if path.endswith(".sql"):
        return True
    return path.endswith(".py") and source is not None and is_python_migration(path, source)


def is_rollback_sql(path: str) -> bool:
    name = PurePosixPath(path).name.lower()
    return bool(re.search(r"(^|[._-])(down|rollback|revert)([._-]|$)", name))


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def python_ops(tree: ast.Module, path: str, source: str) -> dict[str, Any]:
    """Operations of a Python migration: {"framework", "ops": [{op, line, destructive, why}]}."""
    kind = framework(path, source)
    ops: list[dict[str, Any]] = []
    if kind == "django":
        db_columns = _django_db_columns(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _call_name(node.func)
                if name in DJANGO_DESTRUCTIVE:
                    if name == "RenameField" and _kw(node, "new_name") in db_columns:
                        continue
                    ops.append(_op(name, node.lineno, True, DJANGO_DESTRUCTIVE[name]))
                elif name in DJANGO_RISKY:
                    ops.append(_op(name, node.lineno, False, DJANGO_RISKY[name]))
    elif kind == "alembic":
        upgrade = next(
            (
                n
                for n in tree.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "upgrade"
            ),
            None,
        )
        for node in ast.walk(upgrade) if upgrade is not None else ():
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node.func)
            if name in ALEMBIC_DESTRUCTIVE:
                ops.append(_op(name, node.lineno, True, ALEMBIC_DESTRUCTIVE[name]))
            elif name == "alter_column" and any(k.arg == "type_" for k in node.keywords):
                ops.append(_op(name, node.lineno, True, "changes a column type"))
            elif name in ALEMBIC_RISKY:
                ops.append(_op(name, node.lineno, False, ALEMBIC_RISKY[name]))
    return {"framework": kind, "ops": ops}


def _kw(node: ast.Call, name: str) -> str | None:
    for keyword in node.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    if name == "new_name" and len(node.args) >= 3 and isinstance(node.args[2], ast.Constant):
        return str(node.args[2].value)
    return None


def _django_db_columns(tree: ast.Module) -> set[str]:
    """Field names that an AlterField/AddField in this migration gives an explicit db_column."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _call_name(node.func) in ("AlterField", "AddField")):
            continue
        field_name = _kw(node, "name")
        if field_name is None and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            field_name = str(node.args[1].value)
        if field_name and "db_column" in ast.unparse(node):
            names.add(field_name)
    return names


def _op(name: str, line: int, destructive: bool, why: str) -> dict[str, Any]:
    return {"op": name, "line": line, "destructive": destructive, "why": why}


def sql_ops(path: str, text: str) -> dict[str, Any]:
    """Operations found in a SQL migration (line numbers of the statement's keyword)."""
    ops: list[dict[str, Any]] = []
    if is_rollback_sql(path):
        return {"framework": "sql", "ops": ops, "rollback": True}
    clean = _strip_sql_comments(text)
    taken: set[int] = set()
    for pattern, label, destructive in _SQL_RULES:
        for match in pattern.finditer(clean):
            line = clean.count("\n", 0, match.start()) + 1
            if line in taken:
                continue
            taken.add(line)
            ops.append(_op(label, line, destructive, label.lower()))
    ops.sort(key=lambda op: op["line"])
    return {"framework": "sql", "ops": ops}


def _strip_sql_comments(text: str) -> str:
    """Blank out ``--`` and ``/* */`` comments, keeping line numbers."""
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m[0]), text, flags=re.S)
    return re.sub(r"--[^\n]*", "", text)
