"""Docstring parsing (Google, NumPy, Sphinx), generation details, README, the pool path."""

from __future__ import annotations

import ast
import subprocess

from controlroom.agents.docs.agent import FileJob, scan_file, scan_files
from controlroom.agents.docs.docgen import function_facts, google_docstring, summary_from_name
from controlroom.agents.docs.styles import parse_docstring
from controlroom.core.toolkit import parsing as impact_pool
from tests.e2e.cli import CONTROLROOM


def test_google_sections():
    doc = parse_docstring(
        "Do it.\n\nArgs:\n    a (int): First.\n        More about a.\n    *args: Rest.\n\n"
        "Returns:\n    int: Sum.\n\nRaises:\n    ValueError: Bad.\n    errors.Custom: Worse.\n"
    )
    assert doc.style == "google"
    assert doc.params == ["a", "args"]
    assert doc.has_returns
    assert doc.raises == ["ValueError", "Custom"]
    assert doc.summary == "Do it."


def test_numpy_sections():
    doc = parse_docstring(
        "Do it.\n\nParameters\n----------\nx, y : float\n    Coordinates.\n\n"
        "Raises\n------\nKeyError\n    Missing.\n"
    )
    assert doc.style == "numpy"
    assert doc.params == ["x", "y"]
    assert not doc.has_returns
    assert doc.raises == ["KeyError"]


def test_prose_code_and_an_underlined_title_in_a_parameters_section_are_not_parameters():
    # networkx 3.4: a paragraph and a code example inside Parameters, "References" left without
    # its dashes; read as parameters they made DOC102 claim "If, you, df_nodes, G, dict, d, M".
    numpy = parse_docstring(
        "Do it.\n\nParameters\n----------\ndf : DataFrame\n    Edges.\n*args, **kw : any\n"
        "    Rest.\n\nIf you have node attributes in `df_nodes`,\nyou can load them:\n\n"
        "df_nodes = pd.DataFrame({'id': [1]})\nG.add_nodes_from((n, dict(d)) for n, d in x)\n\n"
        'References\n.. [1] "Layout", M. Geipel,\n    Journal.\n\nReturns\n-------\npos : dict\n'
    )
    assert numpy.params == ["df", "args", "kw"] and numpy.has_returns
    google = parse_docstring("Do it.\n\nArgs:\n    a (int): First.\n    This is prose.\n")
    assert google.params == ["a"]


def test_sphinx_fields():
    doc = parse_docstring(
        "Do it.\n\n:param int a: First.\n:param b: Second.\n:type b: str\n"
        ":raises ValueError: Bad.\n:rtype: int\n"
    )
    assert doc.style == "sphinx"
    assert doc.params == ["a", "b"]
    assert doc.has_returns and doc.raises == ["ValueError"]


def test_plain_prose_is_not_structured():
    doc = parse_docstring("Return the thing.\n\nIt is computed lazily: see the notes.")
    assert doc.style == "plain" and not doc.is_structured


def test_summaries_from_names():
    assert summary_from_name("compute_totalPrice", kind="function") == "Compute total price."
    assert summary_from_name("is_valid", kind="function") == "Return whether valid."
    assert summary_from_name("HTTPServer", kind="class") == "A http server."
    assert summary_from_name("__init__", kind="method", owner="Cart") == (
        "Initialize a Cart instance."
    )


def test_generation_is_deterministic_and_ignores_nested_functions():
    node = ast.parse(
        "def outer(x: int, /, y=1, *, z: str = 'a', **kw) -> list[int]:\n"
        "    def inner():\n        raise KeyError\n        return 5\n"
        "    for i in range(x):\n        yield i\n"
    ).body[0]
    facts = function_facts(node)
    assert [p.name for p in facts.params] == ["x", "y", "z", "**kw"]
    assert facts.raises == {} and facts.is_generator
    text = google_docstring("Outer.", facts)
    assert text == google_docstring("Outer.", function_facts(node))
    assert "Yields:\n    list[int]: The result." in text


def test_a_module_is_counted_public_unless_its_path_is_private():
    job = FileJob("pkg/_private/x.py", "def f():\n    pass\n", None, True)
    assert scan_file(job)["public"] == 1  # f only
    job = FileJob("pkg/__init__.py", "def f():\n    pass\n", None, True)
    assert scan_file(job)["public"] == 2


async def test_the_process_pool_gives_the_same_results_as_inline():
    source = "".join(f"def function_{i}(a, b=2):\n    return a + b\n\n\n" for i in range(200))
    jobs = [FileJob(f"pkg/m{i}.py", source, None, True) for i in range(60)]
    assert sum(len(j.source) for j in jobs) > impact_pool.INLINE_BYTES
    try:
        pooled = await impact_pool.map_batches(scan_files, jobs, [len(j.source) for j in jobs])
    finally:
        impact_pool.shutdown()
    inline = scan_files(jobs)
    key = lambda r: r["path"]  # noqa: E731
    assert sorted(pooled, key=key) == sorted(inline, key=key)


PACKAGE = {
    "__init__.py": '"""Tools for widgets.\n\nLonger text."""\nfrom .core import Widget\n'
    "raise SystemExit('importing this package is forbidden')\n",
    "core.py": '"""The widget core."""\n__all__ = ["Widget"]\n\n\nclass Widget(Base):\n'
    '    """A widget | with a pipe."""\n\n    def spin(self, times: int = 1) -> None:\n'
    '        """Spin it."""\n\n    def _hidden(self):\n        pass\n\n\ndef helper():\n    pass\n',
    "_private.py": "def secret():\n    pass\n",
    "broken.py": "def (:\n",
    "tests/test_core.py": "def test_x():\n    pass\n",
}


def make_package(tmp_path):
    package = tmp_path / "widgets"
    for name, text in PACKAGE.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text, encoding="utf-8")
    return package


def test_readme_from_a_package_that_must_not_be_imported(tmp_path):
    from controlroom.agents.docs.readme import build_readme

    text = build_readme(make_package(tmp_path))
    assert text.startswith("# widgets\n\nTools for widgets.\n\n## Modules\n")
    assert "| `widgets.core` | The widget core. |" in text
    assert "| `widgets.broken` | (does not parse) |" in text
    assert "_private" not in text and "test_core" not in text
    assert "- `class Widget(Base)`: A widget | with a pipe." in text
    assert "  - `def spin(self, times: int=1) -> None`: Spin it." in text
    assert "helper" not in text  # not in __all__
    assert "_hidden" not in text


def run_cli(*args, cwd):
    return subprocess.run(
        [CONTROLROOM, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_docs_readme_command_prints_writes_and_refuses_to_overwrite(tmp_path):
    package = make_package(tmp_path)
    shown = run_cli("docs", "readme", str(package), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("# widgets\n")
    assert not (package / "README.md").exists()
    written = run_cli("docs", "readme", str(package), "--write", cwd=tmp_path)
    assert written.returncode == 0
    assert (package / "README.md").read_text(encoding="utf-8") == shown.stdout
    again = run_cli("docs", "readme", str(package), "--write", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    missing = run_cli("docs", "readme", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2 and "not a directory" in missing.stderr
