"""A generated test that fails on the function's own ``assert`` (a precondition refusing a made-up
input), on a ``raise`` in the repository's code (validation, an abstract method) or with a type
variable for an argument is no "possible bug"; one that fails its own check, or on an error a
builtin raised inside the function, is. Real pytest runs, real tracebacks."""

from __future__ import annotations

import subprocess
import sys

from controlroom.agents.testgen.refusals import own_assert_refused, raised_on_purpose, refusal
from controlroom.agents.testgen.static import FunctionInfo

MODULE = """class Prompt:
    choices = None

    def check_choice(self, value):
        assert self.choices is not None
        return value in self.choices


def double(x):
    return x * 3


class Buffer:
    items = ()

    def get(self, n):
        if not self.items:
            raise RuntimeError("buffer is empty")
        return self.items[:n]

    def decompress(self, data):
        raise NotImplementedError


def width(text):
    return ord(text)


def parse(text):
    return _check(text)


def _check(text):
    if text.startswith("!"):
        raise ValueError(f"invalid character in {text!r}")
    return text
"""
TESTS = """from prompt import Buffer, Prompt, double, parse, width


def test_check_choice():
    assert isinstance(Prompt().check_choice(""), bool)


def test_double():
    assert double(2) == 4


def test_get():
    assert Buffer().get(1) == ()


def test_decompress():
    assert Buffer().decompress(b"") == b""


def test_width():
    assert isinstance(width(""), int)


def test_parse():
    assert parse("!x") == "!x"
"""


def function(qualname: str, line: int, end_line: int) -> FunctionInfo:
    return FunctionInfo(
        path="prompt.py", module="prompt", root="", qualname=qualname, line=line,
        end_line=end_line, snippet="", is_method="." in qualname, is_async=False, body_lines=(),
    )  # fmt: skip


def failures(tmp_path, name: str) -> str:
    (tmp_path / "prompt.py").write_text(MODULE)
    (tmp_path / "test_prompt.py").write_text(TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", name],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    return done.stdout


def test_the_functions_own_assert_is_a_refusal_not_a_bug(tmp_path) -> None:
    output = failures(tmp_path, "check_choice")
    assert own_assert_refused(output, function("Prompt.check_choice", 4, 6))
    assert not own_assert_refused(output, function("double", 9, 10))  # not inside it


def test_the_tests_own_check_failing_is_still_a_possible_bug(tmp_path) -> None:
    output = failures(tmp_path, "double")
    assert not own_assert_refused(output, function("double", 9, 10))


def test_a_raise_in_the_repositorys_code_is_a_refusal_a_builtins_error_is_not(tmp_path) -> None:
    empty = raised_on_purpose(failures(tmp_path, "test_get"))
    abstract = raised_on_purpose(failures(tmp_path, "decompress"))
    helper = raised_on_purpose(failures(tmp_path, "parse"))  # raised two calls down: still ours

    assert empty == 'raise RuntimeError("buffer is empty") at prompt.py:18'
    assert abstract is not None and abstract.startswith("raise NotImplementedError")
    assert helper is not None and helper.startswith("raise ValueError(")
    assert raised_on_purpose(failures(tmp_path, "width")) is None  # ord("") inside the function
    assert raised_on_purpose(failures(tmp_path, "double")) is None


def test_a_type_variable_for_an_argument_is_no_input_at_all() -> None:
    generic = function("Converter.structure", 1, 2)
    why = refusal("", "test_fuzz_structure(instance=Converter(), cl=~T)", generic)
    assert why is not None and "type variable" in why
    assert refusal("", "test_fuzz_structure(instance=Converter(), x=-1, y=~1)", generic) is None
