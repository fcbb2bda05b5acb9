"""Runs inside the sandbox child: import the repository's modules and ghostwrite tests. (The parent
reads only its name tables, which import neither Hypothesis nor black.)

Loaded by path from ``sandbox_child.py``; standard library and Hypothesis only, never controlroom
(the child's ``sys.path`` is the repository's). For each requested function it picks the strongest
property it can justify and returns the test source, or the reason it offers none:

- ``roundtrip``: an inverse exists in the same namespace (Hypothesis's ``ROUNDTRIP_PAIRS`` names);
- ``idempotent``: the name says so (normalize, sort, strip, dedupe, ...) and f: T -> T;
- ``equivalent``: a reference implementation sits next to it (``f_reference``, ``naive_f``, ...);
- ``returns``: the result is checked against the return annotation with ``isinstance``;
- ``raises``: only the exceptions the docstring documents (for a ``dict``/``list``/``set`` override,
  also its builtin's lookup errors) may escape; ``never_returns``: a ``NoReturn`` function raises;
- ``observed`` (``observe.py``): with no property, or only ``returns``/``raises``, the values one
  call built from the project's own call shapes returned or left behind at the commit.
A test that would only call the function is never returned.
"""

from __future__ import annotations

import ast
import builtins
import collections.abc
import functools
import importlib
import importlib.util
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any


def _ghostwriter() -> Any:
    """Hypothesis' ghostwriter, imported on first use: the parent reads this module's name tables
    (``needs_ghostwriter``) and must not pay for importing Hypothesis and black (~0.2 s)."""
    try:  # a project's environment often has Hypothesis without its ghostwriter extra (black)
        import black  # noqa: F401
    except ImportError:  # the ghostwriter only formats its output with it: a stand-in will do
        stand_in = types.ModuleType("black")
        stand_in.Mode = lambda **_: None  # type: ignore[attr-defined]
        stand_in.format_str = lambda source, mode=None: source  # type: ignore[attr-defined]
        sys.modules["black"] = stand_in
    from hypothesis.extra import ghostwriter

    return ghostwriter


@functools.cache  # constant data of the installed Hypothesis: parsed once per process
def roundtrip_pairs() -> tuple[tuple[str, str], ...]:
    """The ghostwriter's round-trip name patterns (``ROUNDTRIP_PAIRS``), read from its source
    without importing it; imported only when the source cannot be read that way."""
    try:
        spec = importlib.util.find_spec("hypothesis")  # a top-level lookup imports nothing
        if spec is None or not spec.origin:
            raise OSError("no source of hypothesis")
        origin = Path(spec.origin)
        tree = ast.parse((origin.parent / "extra" / "ghostwriter.py").read_text("utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.Assign):
                continue
            if any(isinstance(t, ast.Name) and t.id == "ROUNDTRIP_PAIRS" for t in node.targets):
                pairs = ast.literal_eval(node.value)
                return tuple((str(a), str(b)) for a, b in pairs)
    except (OSError, ValueError, SyntaxError, TypeError, AttributeError):
        pass
    return tuple(_ghostwriter().ROUNDTRIP_PAIRS)


IDEMPOTENT_NAME = re.compile(
    r"(^|_)(normali[sz]e[sd]?|canonical(i[sz]e)?|sort(ed)?|dedupe|deduplicate|strip|trim|clean"
    r"|sanitize|sanitise|slugify|simplify|flatten|unique|casefold|lowercase|uppercase)($|_)"
)
REFERENCE_AFFIXES = ("reference", "naive", "slow", "simple", "fast")
NO_STRATEGY = "=st.nothing()"
NO_PROPERTY = (  # the same words as testgen_write.NO_PROPERTY (this module imports no controlroom)
    "no property to assert: no inverse, idempotent or reference counterpart, no return "
    "annotation isinstance can check, no documented exceptions"
)
TODO_LINE = "# TODO: replace st.nothing() with an appropriate strategy\n"


def write_tests(request: dict[str, Any]) -> list[dict[str, Any]]:
    """``request["functions"]``: ``{"key", "module", "qualname"}``; one result per function."""
    results = []
    builders = request.get("builders") or {}
    for item in request["functions"]:
        try:
            written = _write_one(
                item["module"], item["qualname"], item.get("examples") or [], builders
            )
            results.append({"key": item["key"], **written})
        except Exception as exc:  # one function's trouble must not lose the others
            reason = f"ghostwriter failed: {type(exc).__name__}: {str(exc)[:200]}"
            results.append({"key": item["key"], "code": None, "reason": reason})
    return results


def _write_one(
    module_name: str,
    qualname: str,
    examples: list[list[str]],
    builders: dict[str, list[list[str]]] | None = None,
) -> dict[str, Any]:
    """The property test, with an example test appended when the project's own literal calls of
    the function (``examples``: ``[args repr, kwargs repr]``) give results worth asserting; with
    neither or only an isinstance/undocumented-exception fuzz test, a test of the behaviour
    observed at the commit (``testgen_observe``) when there is one."""
    result = _write_property(module_name, qualname)
    if "missing_module" not in result:
        result = _with_examples(result, module_name, qualname, examples)
    # An isinstance check or "raises nothing undocumented" asserts little: observed values beat it.
    weak = result.get("property") in ("returns", "raises") and "examples" not in result
    if (result.get("code") and not weak) or "missing_module" in result or builders is None:
        return result
    observe = _observe_module()  # loaded once, here, not in every fork
    observed = _isolated(
        lambda: observe.observed_tests(module_name, qualname, examples, builders), OBSERVE_S
    )
    return observed if isinstance(observed, dict) and observed.get("code") else result


OBSERVE_S = 8.0  # at most, for one function's observed calls


def _isolated(work: Any, timeout: float) -> Any:
    """``work()``'s JSON-able result, computed in a forked process: the repository's code it calls
    may exit, hang or change this process's state; then (or on any error) None."""
    import json
    import os
    import select
    import signal
    import time

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the fork: never returns
        try:
            os.close(read)
            data = json.dumps(work()).encode("utf-8")
        except BaseException:
            data = b"null"
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(write, view) :]
        finally:
            os._exit(0)
    os.close(write)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                chunks = []
                break
            chunk = os.read(read, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    try:
        return json.loads(b"".join(chunks)) if chunks else None
    except ValueError:
        return None


@functools.cache
def _observe_module() -> Any:
    """``observe.py`` beside this file, loaded by path as this module is (no package here)."""
    path = Path(__file__).with_name("observe.py")
    spec = importlib.util.spec_from_file_location("_controlroom_observe", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _with_examples(
    result: dict[str, Any], module_name: str, qualname: str, examples: list[list[str]]
) -> dict[str, Any]:
    if not examples or "." in qualname:
        return result
    try:
        cases = _observe(module_name, qualname, examples)
    except Exception:
        cases = []
    if not cases:
        return result
    block = _examples_test(module_name, qualname, cases)
    if result.get("code"):
        result["code"] = result["code"].rstrip("\n") + "\n\n\n" + block
    else:
        result = {"code": block, "property": "examples", "documented_raises": [], "reason": None}
    result["examples"] = len(cases)
    return result


def _observe(module_name: str, qualname: str, examples: list[list[str]]) -> list[str]:
    """``(args, kwargs, expected)`` source lines for the examples whose result is a literal."""
    import ast

    func = getattr(importlib.import_module(module_name), qualname)
    cases = []
    for args_text, kwargs_text in examples:
        args, kwargs = ast.literal_eval(args_text), ast.literal_eval(kwargs_text)
        try:
            value = func(*args, **kwargs)
            text = repr(value)
            again = ast.literal_eval(text)
        except Exception:
            continue
        if type(again) is type(value) and again == value:
            cases.append(f"({args_text}, {kwargs_text}, {text}),")
    return cases


def _examples_test(module_name: str, qualname: str, cases: list[str]) -> str:
    rows = "\n".join(f"        {case}" for case in cases)
    return (
        "# Examples from the project (literal calls, doctests), results observed at the commit.\n"
        "import pytest\n\n"
        f"import {module_name}\n\n\n"
        "@pytest.mark.parametrize(\n"
        '    ("args", "kwargs", "expected"),\n'
        "    [\n"
        f"{rows}\n"
        "    ],\n"
        ")\n"
        f"def test_{qualname}_examples(args, kwargs, expected):\n"
        f"    assert {module_name}.{qualname}(*args, **kwargs) == expected\n"
    )


def _write_property(module_name: str, qualname: str) -> dict[str, Any]:
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:
        result = _none(f"importing {module_name} failed: {type(exc).__name__}: {str(exc)[:200]}")
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            result["missing_module"] = exc.name  # a dependency the environment lacks (or a typo)
        return result
    owner: Any = module
    *outer, name = qualname.split(".")
    for part in outer:
        owner = getattr(owner, part, None)
    raw = owner.__dict__.get(name) if owner is not None else None
    if raw is None:
        return _none(f"{qualname} is not defined in {module_name} at run time")
    func = getattr(owner, name)
    target = getattr(raw, "__func__", raw)
    if inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target):
        return _none("async function: the ghostwriter writes no tests for coroutines")
    if not callable(func) or isinstance(func, type):
        return _none(f"{qualname} is not a plain function")
    bound_method = bool(outer) and inspect.isfunction(raw)
    raises = _documented_exceptions(target, vars(module))
    if not bound_method:
        partner = _roundtrip_partner(owner, name)
        if partner is not None:
            first, second = partner
            code = _ghostwriter().roundtrip(first, second, except_=raises)
            return _finish(code, "roundtrip", raises, module_name, qualname)
        if _looks_idempotent(target, name):
            code = _ghostwriter().idempotent(func, except_=raises)
            return _finish(code, "idempotent", raises, module_name, qualname)
        reference = _reference_implementation(owner, name)
        if reference is not None:
            code = _ghostwriter().equivalent(func, reference, except_=raises)
            return _finish(code, "equivalent", raises, module_name, qualname)
    check = _isinstance_check(target)
    if check is None and not raises:
        never = _never_returns_test(module_name, qualname, owner, raw, bound_method)
        return never or _none(NO_PROPERTY)
    if bound_method and any(issubclass(owner, b) and hasattr(b, name) for b in (dict, list, set)):
        raises += (LookupError, ValueError)  # dict.popitem() on {}: KeyError, not a bug
    code = _ghostwriter().fuzz(raw if bound_method else func, except_=raises)
    if bound_method:
        code = _instance_calls(code, module_name, qualname, outer[-1], name)
        if NO_STRATEGY not in code:
            code = code.replace(TODO_LINE, "")
    if check is not None:
        code = _assert_result(code, name, check)
    return _finish(code, "returns" if check else "raises", raises, module_name, qualname)


def _instance_calls(code: str, module_name: str, qualname: str, cls: str, name: str) -> str:
    """``Class.method(self=self, ...)`` on ``st.nothing()`` -> ``instance.method(...)`` on
    ``st.builds(Class)``, whatever the layout (one line, wrapped, or ``self`` alone)."""
    code = re.sub(r"\bself=st\.nothing\(\)", f"instance=st.builds({module_name}.{cls})", code)
    code = re.sub(r"(def test_\w+\(\s*)self\b", r"\1instance", code)
    call = re.escape(f"{module_name}.{qualname}(")
    return re.sub(call + r"(\s*)self=self\b,?\s*", f"instance.{name}(" + r"\1", code)


def _never_returns_test(
    module_name: str, qualname: str, owner: Any, raw: Any, bound_method: bool
) -> dict[str, Any] | None:
    """A function annotated ``NoReturn``/``Never`` whose body is one ``raise`` or one call of a
    function of its module: a test that calling it (arguments ``None``: they cannot matter)
    raises what it raises at the commit. Never ``NotImplementedError``; at most 2 s."""
    import ast
    import signal
    import textwrap

    target = getattr(raw, "__func__", raw)
    note = inspect.signature(target).return_annotation
    note = note if isinstance(note, str) else getattr(note, "_name", "") or ""
    node = ast.parse(textwrap.dedent(inspect.getsource(target))).body[0]
    body = [n for n in node.body if not isinstance(getattr(n, "value", None), ast.Constant)]  # type: ignore[attr-defined]
    helper = getattr(getattr(body[0], "value", None), "func", None) if len(body) == 1 else None
    calls_own = isinstance(helper, ast.Name) and helper.id in vars(sys.modules[module_name])
    if note.rsplit(".", 1)[-1] not in ("NoReturn", "Never") or not (
        len(body) == 1 and (isinstance(body[0], ast.Raise) or calls_own)
    ):
        return None
    *outer, name = qualname.split(".")
    call = getattr(owner() if bound_method else owner, name)
    params = inspect.signature(call).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = sum(1 for p in params if p.default is p.empty and p.kind in kinds)
    keywords = [p.name for p in params if p.default is p.empty and p.kind is p.KEYWORD_ONLY]
    args = ["None"] * positional + [f"{k}=None" for k in keywords]

    def _late(*_: Any) -> None:
        raise TimeoutError("did not raise within 2 s")

    previous = signal.signal(signal.SIGALRM, _late)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        call(*[None] * positional, **dict.fromkeys(keywords))
        return None  # it returned after all
    except Exception as exc:
        error = type(exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if issubclass(error, NotImplementedError | TimeoutError):
        return None
    where = "" if error.__module__ == "builtins" else f"{error.__module__}."
    path = ".".join([module_name, *outer]) + ("()" if bound_method else "")
    code = (
        f"import pytest\n\nimport {module_name}\n"
        + (f"import {error.__module__}\n" if where else "")
        + f"\n\ndef test_{qualname.replace('.', '_')}_never_returns():\n"
        f"    with pytest.raises({where}{error.__qualname__}):\n"
        f"        {path}.{name}({', '.join(args)})\n"
    )
    return {"code": code, "property": "never_returns", "documented_raises": [], "reason": None}


def _none(reason: str) -> dict[str, Any]:
    return {"code": None, "reason": reason}


def _finish(
    code: str, prop: str, raises: tuple[type, ...], module_name: str, qualname: str
) -> dict[str, Any]:
    if NO_STRATEGY in code:
        args = re.findall(r"(\w+)=st\.nothing\(\)", code)
        return _none(
            "the ghostwriter cannot build a strategy for "
            + ", ".join(sorted(set(args)) or ["an argument"])
            + " (no annotation or default)"
        )
    try:
        import black

        code = black.format_str(code, mode=black.Mode())
    except Exception:  # unformatted code still runs
        pass
    documented = [f"{exc.__module__}.{exc.__qualname__}" for exc in raises]
    return {"code": code, "property": prop, "documented_raises": documented, "reason": None}


def _roundtrip_partner(owner: Any, name: str) -> tuple[Any, Any] | None:
    names = {k for k in vars(owner) if not k.startswith("_") and callable(getattr(owner, k))}
    for write_pattern, read_format in roundtrip_pairs():
        for candidate in sorted(names):
            match = re.fullmatch(write_pattern, candidate)
            if not match:
                continue
            inverse = read_format.format(*match.groups())
            if inverse in names and name in (candidate, inverse) and candidate != inverse:
                return getattr(owner, candidate), getattr(owner, inverse)
    return None


def _looks_idempotent(func: Any, name: str) -> bool:
    if not IDEMPOTENT_NAME.search(name):
        return False
    try:
        params = [
            p
            for p in inspect.signature(func).parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        hints = typing.get_type_hints(func)
    except Exception:
        return False
    if len(params) != 1:
        return False
    ret, arg = hints.get("return"), hints.get(params[0].name)
    return ret is None or arg is None or ret == arg


def _reference_implementation(owner: Any, name: str) -> Any | None:
    for affix in REFERENCE_AFFIXES:
        for other in (f"{name}_{affix}", f"{affix}_{name}"):
            candidate = getattr(owner, other, None)
            if callable(candidate) and not isinstance(candidate, type):
                return candidate
    return None


_DOC_RAISES = (
    re.compile(r":raises?\s+([\w.]+)\s*:"),  # Sphinx
    re.compile(r"^\s*Raises:\s*\n((?:[ \t]+\S.*\n?)+)", re.MULTILINE),  # Google
    re.compile(r"^\s*Raises\s*\n\s*-{3,}\s*\n((?:.*\S.*\n?)+?)(?:\s*\n|\Z)", re.MULTILINE),  # NumPy
)


def _documented_exceptions(func: Any, namespace: dict[str, Any]) -> tuple[type, ...]:
    """Exception classes the docstring documents, resolved in the module's namespace."""
    doc = inspect.getdoc(func) or ""
    names = list(_DOC_RAISES[0].findall(doc))
    for pattern in _DOC_RAISES[1:]:
        for block in pattern.findall(doc):
            names += re.findall(r"^\s*([A-Za-z_][\w.]*)\s*(?::|$)", block, re.MULTILINE)
    found: list[type] = []
    for dotted in names:
        head, *rest = dotted.split(".")
        obj = namespace.get(head, getattr(builtins, head, None))
        for part in rest:
            obj = getattr(obj, part, None)
        broad = obj in (Exception, BaseException)
        if isinstance(obj, type) and issubclass(obj, Exception) and not broad and obj not in found:
            found.append(obj)
    return tuple(found)


def _isinstance_check(func: Any) -> tuple[str, set[str]] | None:
    """``("(int, float)", {"imports"})`` for the return annotation, or None when unsupported."""
    try:
        hint = typing.get_type_hints(func).get("return", inspect.Signature.empty)
    except Exception:
        return None
    if hint is inspect.Signature.empty or hint is type(None) or hint is None:
        return None
    classes = _classes_for(hint)
    if not classes:
        return None
    names, imports = [], set()
    for cls in classes:
        if cls is type(None):
            names.append("type(None)")
        elif cls.__module__ == "builtins":
            names.append(cls.__qualname__)
        else:
            names.append(f"{cls.__module__}.{cls.__qualname__}")
            imports.add(cls.__module__)
    unique = list(dict.fromkeys(names))
    return (unique[0] if len(unique) == 1 else "(" + ", ".join(unique) + ")", imports)


def _classes_for(hint: Any) -> list[type] | None:
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _classes_for(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        parts = [_classes_for(arg) for arg in typing.get_args(hint)]
        return None if any(p is None for p in parts) else [c for p in parts for c in p or []]
    if origin is not None:
        hint = origin
    if hint is float:
        return [int, float]
    if hint is complex:
        return [int, float, complex]
    if not isinstance(hint, type) or "<locals>" in hint.__qualname__:
        return None
    if getattr(hint, "_is_protocol", False) and not getattr(hint, "_is_runtime_protocol", False):
        return None
    if hint.__module__ == "typing" or (
        hint.__module__ == "collections.abc" and not hasattr(collections.abc, hint.__name__)
    ):
        return None
    return [hint]


def _assert_result(code: str, name: str, check: tuple[str, set[str]]) -> str:
    """Turn the ghostwritten call into ``result = call`` followed by an isinstance assertion."""
    expr, imports = check
    lines = code.splitlines()
    call = re.compile(rf"^(\s*)((?:[\w.]+\.)?{re.escape(name)}\()")
    for index, line in enumerate(lines):
        match = call.match(line)
        if match and "def " not in line:
            indent = match.group(1)
            end = index
            depth = line.count("(") - line.count(")")
            while depth > 0 and end + 1 < len(lines):
                end += 1
                depth += lines[end].count("(") - lines[end].count(")")
            lines[index] = f"{indent}result = {line.lstrip()}"
            lines.insert(end + 1, f"{indent}assert isinstance(result, {expr}), result")
            break
    else:
        raise ValueError(f"no call of {name} in the ghostwritten test")
    first_import = next(i for i, line in enumerate(lines) if line.startswith(("import ", "from ")))
    present = {line.split()[1] for line in lines if line.startswith("import ")}
    for module in sorted(imports - present):
        lines.insert(first_import, f"import {module}")
    return "\n".join(lines) + "\n"
