"""A generated test that fails on the function's own ``assert`` (a precondition refusing a made-up
input) is no "possible bug"; one that fails its own check is. Real pytest runs, real tracebacks."""

from __future__ import annotations

import subprocess
import sys

from controlroom.agents.testgen.report import own_assert_refused
from controlroom.agents.testgen.static import FunctionInfo

MODULE = """class Prompt:
    choices = None

    def check_choice(self, value):
        assert self.choices is not None
        return value in self.choices


def double(x):
    return x * 3
"""
TESTS = """from prompt import Prompt, double


def test_check_choice():
    assert isinstance(Prompt().check_choice(""), bool)


def test_double():
    assert double(2) == 4
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
