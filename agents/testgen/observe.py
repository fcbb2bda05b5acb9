"""Runs inside the sandbox child (loaded by ``testgen_ghost``): example tests from observed behaviour.

For a function or method the ghostwriter finds no property for, calls are put together from the
project itself and run once at the commit; what they observably do becomes the test's assertions:

- **receiver** (a method): the class built with a literal constructor call found in the project
  (``builders``, see ``testgen_examples``), else with no arguments, else with its required
  arguments built the same way (one level deep);
- **arguments**: the function's own literal calls in the project (call sites, doctests); else, per
  required parameter, by its annotation: an instance of a project class (built as above, or one of
  its public subclasses when the class itself cannot be built), ``None`` when the annotation admits
  it, else a placeholder literal of a builtin type (the parameter's name for ``str``);
- **assertions**: the return value when it is a literal (``ast.literal_eval`` gives it back; never a
  string naming a place of this run: working, temporary or home directory, import root), one of
  the test's own objects (``is``) or a container of those; every public attribute of the receiver
  the call changed, the same way; an exception only when it is one of the project's own classes
  (``pytest.raises``). A builtin exception means the built inputs were wrong: no test.

Standard library only; never controlroom. The test is an ordinary candidate: it must pass in the
sandbox and kill a mutant before it is offered. Each call runs at most ``CALL_S`` seconds.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import keyword
import math
import os
import re
import signal
import sys
import tempfile
import typing
from dataclasses import dataclass, field
from typing import Any

CALL_S = 2.0
MAX_CALLS = 3  # test functions per function under test
MAX_ITEMS = 20  # elements of a container an assertion spells out
PLACEHOLDERS: dict[type, Any] = {int: 0, float: 0.5, bool: True, bytes: b"data"}
DISTINCT = (2, 3, 5, 7, 11)


@dataclass
class Built:
    """An object a test makes: its source expression, the modules it needs, how to make it again."""

    expr: str
    imports: set[str]
    make: typing.Callable[[], Any]


@dataclass
class Call:
    """One call: the receiver (or None), the arguments (``Built`` or literal source), and a label."""

    receiver: Built | None
    args: list[tuple[str | None, Built | str]]  # (keyword or None, value)
    values: list[tuple[str | None, Any]] = field(default_factory=list)


def observed_tests(
    module_name: str,
    qualname: str,
    calls: list[list[str]],
    builders: dict[str, list[list[str]]],
) -> dict[str, Any] | None:
    """``{"code", "property": "observed", ...}`` or None when no call gives anything to assert."""
    module = importlib.import_module(module_name)
    top = module_name.split(".")[0]
    owner: Any = module
    *outer, name = qualname.split(".")
    for part in outer:
        owner = getattr(owner, part)
    raw = owner.__dict__.get(name)
    target = getattr(raw, "__func__", raw)
    if target is None or not inspect.isfunction(target):
        return None
    is_static = isinstance(raw, staticmethod)
    is_class = isinstance(raw, classmethod)
    method = bool(outer) and not is_static and not is_class
    space = _namespace(module, top)
    maker = _Maker(space, builders, top)
    receivers: list[Built | None] = [None]
    if method:
        receivers = [*maker.instances(owner, depth=0)[:2]]
        if not receivers:
            return None
    params = list(inspect.signature(target).parameters.values())
    if outer and not is_static:
        params = params[1:]  # self or cls
    hints = _hints(target, space)
    plans: list[list[tuple[str | None, Built | str]]] = []
    for args_text, kwargs_text in calls:
        args, kwargs = ast.literal_eval(args_text), ast.literal_eval(kwargs_text)
        plans.append([(None, repr(a)) for a in args] + [(k, repr(v)) for k, v in kwargs.items()])
    synthesized = _synthesize(params, hints, maker)
    if synthesized is not None:
        plans.append(synthesized)
    owner_path = ".".join([module_name, *outer])
    tests: list[str] = []
    shapes: set[str] = set()
    imports = {module_name}
    uses_raises = False
    for receiver in receivers:
        for plan in plans:
            if len(tests) >= MAX_CALLS:
                break
            observed = _run(owner, name, receiver, plan, owner_path, hints, top)
            if observed is None:
                continue
            body, needs, raises = observed
            # The same call and assertions on another receiver say nothing new.
            shape = "\n".join(line for line in body.splitlines() if "instance = " not in line)
            if shape not in shapes:
                shapes.add(shape)
                tests.append(body)
                imports |= needs
                uses_raises |= raises
    if not tests:
        return None
    head = (
        "# Behaviour observed at the commit; inputs from the project (call sites, constructors).\n"
    )
    if uses_raises:
        head += "import pytest\n\n"
    head += "".join(f"import {m}\n" for m in sorted(imports))
    flat = qualname.replace(".", "_")
    bodies = [
        f"\n\ndef test_{flat}_observed{'' if i == 0 else f'_{i + 1}'}():\n{body}"
        for i, body in enumerate(tests)
    ]
    return {
        "code": head + "".join(bodies),
        "property": "observed",
        "documented_raises": [],
        "reason": None,
    }


def _namespace(module: Any, top: str) -> dict[str, Any]:
    """Names an annotation may use: the module's, then every loaded module of its package's."""
    space: dict[str, Any] = {}
    for name, loaded in list(sys.modules.items()):
        if loaded is not None and (name == top or name.startswith(top + ".")):
            for key, value in vars(loaded).items():
                if not key.startswith("_") and isinstance(value, type):
                    space.setdefault(key, value)
    space.update(vars(module))
    return space


def _hints(func: Any, space: dict[str, Any]) -> dict[str, Any]:
    """Parameter annotations resolved in ``space`` (names under ``TYPE_CHECKING`` included);
    one that does not resolve is left out."""
    hints: dict[str, Any] = {}
    for name, note in getattr(func, "__annotations__", {}).items():
        if isinstance(note, str):
            try:
                note = eval(note, dict(space))  # an annotation, in the sandbox
            except Exception:
                continue
        hints[name] = note
    return hints


def _members(hint: Any) -> list[Any]:
    origin = typing.get_origin(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return list(typing.get_args(hint))
    if origin is typing.Annotated:
        return _members(typing.get_args(hint)[0])
    return [hint]


class _Maker:
    """Builds project objects from the project's call shapes."""

    def __init__(self, space: dict[str, Any], builders: dict[str, list[list[str]]], top: str):
        self.space, self.builders, self.top = space, builders, top

    def own(self, cls: Any) -> bool:
        return isinstance(cls, type) and (cls.__module__ or "").split(".")[0] == self.top

    def instances(self, cls: type, depth: int) -> list[Built]:
        """Ways to build ``cls`` (or, failing that, a public subclass of it)."""
        found = self._direct(cls, depth)
        if not found:
            subclasses: list[type] = cls.__subclasses__()
            for sub in subclasses:
                if self.own(sub) and not sub.__name__.startswith("_"):
                    found += self._direct(sub, depth)
                if len(found) >= 2:
                    break
        return found[:2]

    def _direct(self, cls: type, depth: int) -> list[Built]:
        if (
            inspect.isabstract(cls)
            or cls.__name__.startswith("_")
            or "<locals>" in cls.__qualname__
        ):
            return []
        path = f"{cls.__module__}.{cls.__qualname__}"
        found: list[Built] = []
        for args_text, kwargs_text in self.builders.get(cls.__name__, []):
            args, kwargs = ast.literal_eval(args_text), ast.literal_eval(kwargs_text)
            parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]

            def literal(cls: type = cls, a: str = args_text, k: str = kwargs_text) -> Any:
                return cls(*ast.literal_eval(a), **ast.literal_eval(k))

            built = Built(f"{path}({', '.join(parts)})", {cls.__module__}, literal)
            if _works(built):
                found.append(built)
        if found:
            return found
        plain = Built(f"{path}()", {cls.__module__}, cls)
        if _works(plain):
            return [plain]
        if depth >= 1:
            return []
        try:
            params = list(inspect.signature(cls).parameters.values())
        except (TypeError, ValueError):
            return []
        init = getattr(cls, "__init__", None)
        plan = _synthesize(params, _hints(init, self.space) if init else {}, self, depth + 1)
        if not plan:
            return []
        parts = [(f"{k}=" if k else "") + (v.expr if isinstance(v, Built) else v) for k, v in plan]
        needs = {m for _, v in plan if isinstance(v, Built) for m in v.imports}

        def make(cls: type = cls, plan: list = plan) -> Any:
            args, kwargs = _values(plan)
            return cls(*args, **kwargs)

        built = Built(f"{path}({', '.join(parts)})", {cls.__module__, *needs}, make)
        return [built] if _works(built) else []


def _synthesize(
    params: list[inspect.Parameter], hints: dict[str, Any], maker: _Maker, depth: int = 0
) -> list[tuple[str | None, Built | str]] | None:
    """Arguments for the required parameters, by annotation; None when one cannot be made."""
    plan: list[tuple[str | None, Built | str]] = []
    for param in params:
        if (
            param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
            or param.default is not param.empty
        ):
            continue
        value = _argument(param.name, hints.get(param.name, param.empty), maker, depth, len(plan))
        if value is None:
            return None
        plan.append((param.name if param.kind is param.KEYWORD_ONLY else None, value))
    return plan


def _argument(
    name: str, hint: Any, maker: _Maker, depth: int, position: int = 0
) -> Built | str | None:
    members = _members(hint)
    for member in members:
        if maker.own(member):
            built = maker.instances(member, depth)
            if built:
                return built[0]
    if type(None) in members or None in members:
        return "None"
    for member in members:
        if member is str:
            return repr(name)
        if member in PLACEHOLDERS:
            value = PLACEHOLDERS[member]
            if member in (int, float):  # distinct per parameter: add(2, 3) tells + from *
                value += DISTINCT[position % len(DISTINCT)]
            return repr(value)
    return None


def _values(plan: list[tuple[str | None, Built | str]]) -> tuple[list[Any], dict[str, Any]]:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for key, value in plan:
        made = value.make() if isinstance(value, Built) else ast.literal_eval(value)
        if key is None:
            args.append(made)
        else:
            kwargs[key] = made
    return args, kwargs


def _works(built: Built) -> bool:
    try:
        with _quiet():
            built.make()
        return True
    except BaseException as exc:  # the project code, whatever it raises
        if isinstance(exc, KeyboardInterrupt):
            raise
        return False


class _Late(BaseException):
    pass


@contextlib.contextmanager
def _quiet() -> typing.Iterator[None]:
    """At most ``CALL_S`` seconds, no output, no input."""

    def late(*_: Any) -> None:
        raise _Late

    previous = signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, CALL_S)
    stdin = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.stdin = stdin


def _variable(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", name).strip("_").lower() or "value"
    if keyword.iskeyword(base) or base in ("pytest", "result", "instance"):
        base += "_"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    taken.add(candidate)
    return candidate


def _run(
    owner: Any,
    name: str,
    receiver: Built | None,
    plan: list[tuple[str | None, Built | str]],
    owner_path: str,
    hints: dict[str, Any],
    top: str,
) -> tuple[str, set[str], bool] | None:
    """The test body for one call, its imports and whether it uses ``pytest.raises``."""
    lines: list[str] = []
    needs: set[str] = set()
    known: dict[int, str] = {}
    taken: set[str] = set()
    try:
        with _quiet():
            instance = receiver.make() if receiver is not None else None
            args: list[Any] = []
            kwargs: dict[str, Any] = {}
            parts: list[str] = []
            if receiver is not None:
                lines.append(f"    instance = {receiver.expr}")
                needs |= receiver.imports
                known[id(instance)] = "instance"
            for index, (key, value) in enumerate(plan):
                if isinstance(value, Built):
                    made = value.make()
                    var = _variable(key or _param_name(owner, name, index) or "arg", taken)
                    lines.append(f"    {var} = {value.expr}")
                    needs |= value.imports
                    known[id(made)] = var
                    text = var
                else:
                    made, text = ast.literal_eval(value), value
                if key is None:
                    args.append(made)
                else:
                    kwargs[key] = made
                parts.append(f"{key}={text}" if key else text)
            state = _state(instance, known)
            call_target = "instance" if receiver is not None else owner_path
            call = f"{call_target}.{name}({', '.join(parts)})"
            func = getattr(instance if receiver is not None else owner, name)
            try:
                result = func(*args, **kwargs)
            except _Late:
                return None
            except Exception as exc:
                error = type(exc)
                if (error.__module__ or "").split(".")[0] != top or error.__name__.startswith("_"):
                    return None  # a builtin error: the made-up inputs were wrong, most likely
                needs.add(error.__module__)
                lines += [
                    f"    with pytest.raises({error.__module__}.{error.__qualname__}):",
                    f"        {call}",
                ]
                return "\n".join(lines) + "\n", needs, True
            after = _state(instance, known)
    except (_Late, Exception):
        return None
    checks: list[str] = []
    described = _describe(result, known)
    returns_none = hints.get("return", "?") in (None, type(None))
    if described is not None and not (returns_none and result is None):
        checks.append(f"    assert result {_operator(described, known)} {described}")
    for attr, spelt in after.items():
        if spelt is not None and state.get(attr) != spelt:
            checks.append(f"    assert instance.{attr} {_operator(spelt, known)} {spelt}")
    if not checks:
        return None
    uses_result = checks[0].startswith("    assert result ")
    lines.append(f"    result = {call}" if uses_result else f"    {call}")
    return "\n".join(lines + checks) + "\n", needs, False


def _operator(text: str, known: dict[int, str]) -> str:
    return "is" if text in ("None", "True", "False") or text in known.values() else "=="


def _param_name(owner: Any, name: str, index: int) -> str | None:
    try:
        func = getattr(owner, name)
        params = [
            p for p in inspect.signature(func).parameters.values() if p.name not in ("self", "cls")
        ]
        return params[index].name
    except Exception:
        return None


def _state(instance: Any, known: dict[int, str]) -> dict[str, str | None]:
    """Public attributes of ``instance`` as the test would spell them (None: not expressible)."""
    if instance is None:
        return {}
    try:
        items = vars(instance).items()
    except TypeError:
        return {}
    return {k: _describe(v, known) for k, v in items if not k.startswith("_")}


def _local(value: str | bytes) -> bool:
    """Whether ``value`` names a place of this run: the working directory, a temporary or home
    directory, an import root, the interpreter's prefix."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    places = {os.getcwd(), tempfile.gettempdir(), os.path.expanduser("~"), sys.prefix}
    places |= {p for p in sys.path if p and os.path.isabs(p)}
    return any(len(p) > 1 and p in text for p in places)


def _describe(value: Any, known: dict[int, str], depth: int = 0) -> str | None:
    """``value`` as source a test can compare against, or None."""
    if id(value) in known:
        return known[id(value)]
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if type(value) in (int, float, str, bytes):
        if isinstance(value, str | bytes) and _local(value):
            return None  # a path of this machine or run: another checkout would differ
        return repr(value) if len(repr(value)) <= 200 else None
    if depth >= 3:
        return None
    if type(value) in (list, tuple) and len(value) <= MAX_ITEMS:
        items = [_describe(v, known, depth + 1) for v in value]
        if any(i is None for i in items):
            return None
        if type(value) is tuple:
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"  # type: ignore[arg-type]
        return "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    if type(value) is dict and len(value) <= MAX_ITEMS:
        pairs = [
            (_describe(k, known, depth + 1), _describe(v, known, depth + 1))
            for k, v in value.items()
        ]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    if type(value) in (set, frozenset) and len(value) <= MAX_ITEMS:
        text = repr(value)
        try:
            return text if ast.literal_eval(text) == value else None
        except (ValueError, SyntaxError):
            return None
    return None
