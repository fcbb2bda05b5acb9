"""When a failing generated test shows no bug: the code refused a made-up input on purpose.

Hypothesis builds arguments from a function's annotations; a test that fails is a "possible bug"
(TEST002) only when the failure is the function's behaviour on an input it accepts. It is a
refusal, and nothing is reported but why no test is offered, when pytest's last frame:

- is the function's own ``assert`` (a precondition);
- is a ``raise`` statement in the repository's code (the function or a helper it calls rejects
  the input: ``raise RuntimeError("buffer is empty")``, a project's own ``InvalidStringError``,
  an abstract method's ``raise NotImplementedError``);

or when the failing example passes a type variable (``cls=~T``): the strategy came from an
unresolved generic annotation, so the input means nothing.
"""

from __future__ import annotations

import re

from controlroom.agents.testgen.static import FunctionInfo

# pytest's last line of a frame: "src/pkg/mod.py:402: RuntimeError"
_FRAME_END = re.compile(r"^(?P<path>\S+\.py):(?P<line>\d+): (?P<error>\w+)", re.M)
_FAILING_LINE = re.compile(r"^>\s*(?P<code>\S.*)$", re.M)  # the frame's current line, marked ">"
_TYPEVAR_ARGUMENT = re.compile(r"=(?:~[A-Za-z_]\w*|\+\w+_co|-\w+_contra)\b")  # ~T, +T_co


def _last_frame(output: str) -> re.Match[str] | None:
    """The end line of pytest's last traceback frame ("src/pkg/mod.py:402: RuntimeError")."""
    frames = list(_FRAME_END.finditer(output or ""))
    return frames[-1] if frames else None


def own_assert_refused(output: str, function: FunctionInfo) -> bool:
    """Whether pytest's traceback ends in an AssertionError raised inside ``function`` itself
    (the last frame is its file, within its lines): its precondition, not the test's check."""
    last = _last_frame(output)
    if last is None or last["error"] != "AssertionError":
        return False
    path = last["path"].replace("\\", "/")
    inside = path == function.path or path.endswith("/" + function.path)
    return inside and function.line <= int(last["line"]) <= function.end_line


GENERATED_DIR = ".controlroom-testgen"  # where the agent writes the tests it runs (agent.py)


def raised_on_purpose(output: str, generated_dir: str = GENERATED_DIR) -> str | None:
    """``raise ...`` when the traceback's last frame is a raise statement in the repository's
    code (a relative path outside the generated tests' folder), else None."""
    last = _last_frame(output)
    if last is None:
        return None
    path = last["path"].replace("\\", "/")
    if path.startswith(("/", generated_dir)) or "site-packages/" in path:
        return None  # the standard library, an installed package, or the generated test itself
    block_start = output.rfind("\n_ _ _", 0, last.start())
    marked = list(_FAILING_LINE.finditer(output, max(block_start, 0), last.start()))
    if not marked:
        return None
    code = marked[-1]["code"].strip()
    if not re.match(r"raise\b", code):
        return None
    return f"{code[:80]} at {path}:{last['line']}"


def refusal(output: str, example: str, function: FunctionInfo) -> str | None:
    """Why a failing generated test is a refusal of its input, not a possible bug, or None."""
    if own_assert_refused(output, function):
        return "the function's own assert refused the generated input"
    raised = raised_on_purpose(output)
    if raised is not None:
        return f"the code refuses the generated input on purpose ({raised})"
    if _TYPEVAR_ARGUMENT.search(example or ""):
        return "the generated input passes a type variable (an unresolved generic annotation)"
    return None
