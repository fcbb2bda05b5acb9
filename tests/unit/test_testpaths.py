"""The one "is this test code" rule of core (core/testpaths.py), on a table of paths."""

from __future__ import annotations

import pytest

from controlroom.core.testpaths import is_test_code, is_test_path, is_test_symbol

TEST_PATHS = [
    "tests/test_x.py",
    "tests/unit/helpers.py",
    "tests/data/sample.json",
    "pkg/tests/helpers.py",
    "src/pkg/tests/__init__.py",
    "test/test_io.py",
    "test/support/__init__.py",
    "testing/conftest.py",
    "testing/plugins/fixtures.py",
    "pkg/test_models.py",
    "test_setup.py",
    "pkg/ops_test.py",
    "conftest.py",
    "src/conftest.py",
    "myapp/tests.py",
]
LIBRARY_PATHS = [
    "src/pkg/users.py",
    "django/test/client.py",  # a helper package the library ships
    "django/test/testcases.py",
    "numpy/testing/_private/utils.py",
    "pkg/testing.py",
    "pkg/contest.py",
    "pkg/latest_test_data.txt",
    "attestation.py",
    "pkg/testsuite.py",
    "protests/views.py",
    "",
]


@pytest.mark.parametrize("path", TEST_PATHS)
def test_test_paths(path: str) -> None:
    assert is_test_path(path)


@pytest.mark.parametrize("path", LIBRARY_PATHS)
def test_library_paths(path: str) -> None:
    assert not is_test_path(path)


def test_test_functions_in_library_files_are_test_code() -> None:
    assert is_test_symbol("test_roundtrip") and is_test_symbol("Checks.test_send.inner")
    assert not is_test_symbol("TestCase.setUp") and not is_test_symbol(None)
    assert not is_test_symbol("latest_test") and not is_test_symbol("testify")
    assert is_test_code("src/pkg/users.py", "test_users")
    assert is_test_code("tests/test_x.py", None)
    assert not is_test_code("src/pkg/users.py", "create_user")


def test_the_agents_share_the_rule() -> None:
    from controlroom.agents.impact import scan as impact_scan
    from controlroom.agents.sweeps import common as hobby_common
    from controlroom.agents.testgen import static as testgen_static

    assert hobby_common.is_test_path is is_test_path
    assert impact_scan.is_test_path is is_test_path
    assert testgen_static.is_test_path is is_test_path
