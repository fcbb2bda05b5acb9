"""Which functions the test modules call, by resolving names through their imports.

``from pkg.mod import f; f()``, ``import pkg.mod as m; m.f()``, ``from pkg import mod; mod.f()``,
``Class(...).method()``, ``obj = Class(); obj.method()`` (also ``self.obj = Class()``), and functions
passed as arguments (``assertRaises(E, f, x)``, ``map(f, xs)``) all count. A method call on a
receiver that cannot be resolved counts for a class only in a module that refers to that class
(the "roughly" of method resolution). Re-exports through a package's ``__init__`` are followed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ModuleUsage:
    """What one test module calls and mentions, as dotted names."""

    called: frozenset[str]
    referenced: frozenset[str]
    loose_methods: frozenset[str]  # method names called on receivers we could not resolve


def _key(node: ast.expr) -> str | None:
    """``"obj"`` or ``"self.obj"``: the names an instance can be remembered under."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


class _Resolver:
    """Three flat passes over a module's nodes: imports, instances, calls (order-insensitive)."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.names: dict[str, str] = {}  # local name -> dotted target
        self.instances: dict[str, str] = {}  # "obj" / "self.obj" -> dotted class
        self.stars: list[str] = []
        self.called: set[str] = set()
        self.referenced: set[str] = set()
        self.loose: set[str] = set()

    def _absolute(self, module: str | None, level: int) -> str:
        if not level:
            return module or ""
        base = self.package.split(".") if self.package else []
        base = base[: len(base) - (level - 1)] if level > 1 else base
        return ".".join([*base, module] if module else base)

    def add_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                self.names[alias.asname or top] = alias.name if alias.asname else top
            return
        source = self._absolute(node.module, node.level)
        for alias in node.names:
            if alias.name == "*":
                self.stars.append(source)
            else:
                self.names[alias.asname or alias.name] = f"{source}.{alias.name}".lstrip(".")

    def resolve(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.names.get(node.id) or self.instances.get(node.id)
        if isinstance(node, ast.Attribute):
            key = _key(node)
            if key is not None and key in self.instances:
                return self.instances[key]
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            return self.resolve(node.func)  # Class(...).method -> Class.method
        return None

    def remember_instance(self, target: ast.expr, value: ast.expr | None) -> None:
        key = _key(target)
        if key is not None and isinstance(value, ast.Call):
            cls = self.resolve(value.func)
            if cls:
                self.instances[key] = cls

    def add_call(self, node: ast.Call) -> None:
        func = node.func
        target = self.resolve(func)
        if target is None and isinstance(func, ast.Name):
            self.called.update(f"{star}.{func.id}" for star in self.stars)
        elif target is None and isinstance(func, ast.Attribute):
            self.loose.add(func.attr)
        if target:
            self.called.add(target)
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            passed = self.resolve(arg) if isinstance(arg, ast.Name | ast.Attribute) else None
            if passed:
                self.called.add(passed)

    def run(self, tree: ast.Module) -> None:
        nodes = list(ast.walk(tree))
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                self.add_import(node)
        for node in nodes:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self.remember_instance(target, node.value)
            elif isinstance(node, ast.AnnAssign):
                self.remember_instance(node.target, node.value)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                self.remember_instance(node.optional_vars, node.context_expr)
        names = self.names
        for node in nodes:
            if isinstance(node, ast.Call):
                self.add_call(node)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                for decorator in node.decorator_list:  # ``@group``: applying it calls it
                    applied = (
                        self.resolve(decorator)
                        if isinstance(decorator, ast.Name | ast.Attribute)
                        else None
                    )
                    if applied:
                        self.called.add(applied)
            elif isinstance(node, ast.Name) and node.id in names:
                self.referenced.add(names[node.id])
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in names
            ):
                self.referenced.add(f"{names[node.value.id]}.{node.attr}")


def module_usage(source: str, package: str) -> ModuleUsage | None:
    """Resolve the calls of one test module (``package``: its own package, for relative imports)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    resolver = _Resolver(package)
    resolver.run(tree)
    return ModuleUsage(
        frozenset(resolver.called), frozenset(resolver.referenced), frozenset(resolver.loose)
    )


def reexports(
    init_source: str, package: str, star_names: dict[str, set[str]] | None = None
) -> dict[str, str]:
    """``{"pkg.f": "pkg.mod.f"}`` for the names a package's ``__init__`` imports from elsewhere;
    ``from .mod import *`` re-exports the names ``star_names`` gives for ``pkg.mod`` (the public
    top-level names of the modules the caller read)."""
    try:
        tree = ast.parse(init_source)
    except (SyntaxError, ValueError):
        return {}
    resolver = _Resolver(package)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            resolver.add_import(node)
    found = {f"{package}.{local}": target for local, target in resolver.names.items()}
    for source in resolver.stars:
        for name in (star_names or {}).get(source, ()):
            found.setdefault(f"{package}.{name}", f"{source}.{name}")
    return found


# Method names too common to say which class a call on an unknown receiver reaches: those of
# the builtin types, and verbs every other class has.
COMMON_METHODS = frozenset(
    {n for t in (object, dict, list, set, frozenset, tuple, str, bytes, int) for n in dir(t)}
    | {"run", "start", "stop", "close", "open", "read", "write", "send", "call", "get", "set",
       "load", "dump", "save", "parse", "format", "process", "handle", "reset", "update", "add",
       "remove", "delete", "create", "build", "render", "validate", "execute", "apply", "to_dict",
       "main", "setup", "teardown", "flush", "next", "emit", "wait"}
)  # fmt: skip


@dataclass(slots=True)
class TestIndex:
    """The union of all test modules' usage, with package re-exports mapped to their definitions."""

    called: set[str] = field(default_factory=set)
    referenced: set[str] = field(default_factory=set)
    loose: list[tuple[frozenset[str], frozenset[str]]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    modules_read: int = 0
    called_tails: set[str] = field(default_factory=set)  # last part of attribute-chain calls
    # Method names more than one class of the analysed modules defines: a call by name alone
    # cannot say which class it reached (Flask.open_resource, Blueprint.open_resource).
    ambiguous: set[str] = field(default_factory=set)

    def add(self, usage: ModuleUsage) -> None:
        self.modules_read += 1
        self.called |= {self.canonical(n) for n in usage.called}
        self.called_tails |= {n.rsplit(".", 2)[-1] for n in usage.called if n.count(".") >= 2}
        self.referenced |= {self.canonical(n) for n in usage.referenced}
        if usage.loose_methods:  # they count only with the same module's references: keep pairs
            refs = frozenset(self.canonical(n) for n in usage.referenced)
            self.loose.append((refs, usage.loose_methods))

    def canonical(self, dotted: str) -> str:
        """Follow re-exports: the longest alias prefix of ``dotted`` is replaced by its target."""
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            head = ".".join(parts[:cut])
            if head in self.aliases:
                return ".".join([self.aliases[head], *parts[cut:]])
        return dotted

    def is_tested(self, module: str, qualname: str) -> bool:
        dotted = f"{module}.{qualname}"
        if dotted in self.called:
            return True
        if "." not in qualname:
            return False
        cls, method = qualname.rsplit(".", 1)
        owner = f"{module}.{cls}"
        if any(owner in refs and method in names for refs, names in self.loose):
            return True
        # A distinctive method name called on a receiver we could not resolve (an instance a
        # decorator or a fixture made: ``@cli.result_callback()``), or through an attribute
        # chain we resolved only by name (``app.config.from_prefixed_env()``), is taken as a
        # call of it.
        if method in COMMON_METHODS or method in self.ambiguous:
            return False
        return method in self.called_tails or any(method in names for _, names in self.loose)


def package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def words_for(functions: Iterable[str]) -> set[str]:
    """The bare names a test module must contain to possibly call one of ``functions``."""
    return {q.rsplit(".", 1)[-1] for q in functions}
