"""The critic ranks findings by context: test code, the purpose of the flagged call, its AST.

Real files in a real git repository, through the real ruff (the way test_critic_agent works), plus
the small pure functions of agents/critic/purpose.py on parsed snippets.
"""

from __future__ import annotations

import ast

import pytest

from controlroom.agents.critic import purpose
from controlroom.agents.critic.agent import CriticAgent
from controlroom.core.config import load_config
from controlroom.core.errors import ConfigError
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext, Finding, Severity
from controlroom.core.settings import load_defaults

USERS = """def create_user(password=None):
    return password


def make_admin():
    return create_user(password="secret")
"""
PICKLES = """import pickle


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))
"""
LOOP = """def names(users):
    out = []
    for user in users:
        out.append(Profile.objects.get(user=user).name)
    return out
"""
TEST_LOOP = """def test_names(users):
    for user in users:
        assert Profile.objects.get(user=user).name
"""
PROCESSES = """import os
import subprocess


def status():
    return subprocess.run(["git", "status"], check=True)


def log(arg):
    return subprocess.run(["git", "log", arg], check=True)


def run(arg):
    return subprocess.run(f"git {arg}", shell=True)


def listing():
    return subprocess.run("ls -la", shell=True)


def passthrough(arg):
    return subprocess.run(arg, shell=True)


def built(arg):
    command = "ls " + arg
    return subprocess.run(command, shell=True)


def system(arg):
    os.system("echo %s" % arg)
"""
SQL = """def check(x):
    raise ValueError(f"SELECT name FROM {x} is not valid")


def fetch(cursor, x):
    cursor.execute(f"SELECT * FROM t WHERE id = {x}")
"""
SHELLS = """def interactive_shell(code):
    exec(code)


def ask():
    return eval(input())


def constant():
    return eval("1 + 1")


def confined(code, names):
    return eval(code, {"__builtins__": {}}, names)
"""
ESCAPING = """from django.utils.safestring import mark_safe


def escape_html(text):
    return mark_safe(text.replace("<", "&lt;"))


def render(text):
    return mark_safe(text)
"""


async def findings(repo, files: dict[str, str]) -> list[Finding]:
    repo.commit({"README.md": "hi\n"})
    sha = repo.commit(files)
    change = GitRepository(repo.path).changeset(sha)
    ctx = AgentContext(repo_path=repo.path, config=load_defaults()["critic"])
    return (await CriticAgent().analyze(change, ctx)).findings


def at(found: list[Finding], rule: str, path: str) -> list[Finding]:
    return [f for f in found if f.rule == rule and f.path == path]


async def test_hardcoded_password_only_outside_tests(repo) -> None:
    test = USERS.replace("def make_admin", "def test_admin")
    found = await findings(repo, {"tests/test_x.py": test, "src/pkg/users.py": USERS})
    assert at(found, "S106", "tests/test_x.py") == []
    (library,) = at(found, "S106", "src/pkg/users.py")
    assert library.severity == Severity.HIGH and library.symbol == "make_admin"


async def test_pickle_roundtrip_only_outside_tests(repo) -> None:
    found = await findings(repo, {"tests/test_cache.py": PICKLES, "pkg/cache.py": PICKLES})
    assert at(found, "S301", "tests/test_cache.py") == []
    assert [f.severity for f in at(found, "S301", "pkg/cache.py")] == [Severity.HIGH]


async def test_n_plus_one_dropped_in_tests_medium_in_library(repo) -> None:
    found = await findings(
        repo,
        {"tests/test_names.py": TEST_LOOP, "pkg/names.py": LOOP, "pkg/checks.py": TEST_LOOP},
    )
    assert at(found, "CR001", "tests/test_names.py") == []
    assert at(found, "CR001", "pkg/checks.py") == []  # a test_* function in a library file
    (loop,) = at(found, "CR001", "pkg/names.py")
    assert loop.severity == Severity.MEDIUM and loop.symbol == "names"


async def test_n_plus_one_never_above_medium(repo) -> None:
    config = load_defaults()["critic"]
    config["severity"] = {**config["severity"], "CR001": "critical"}
    repo.commit({"README.md": "hi\n"})
    sha = repo.commit({"pkg/names.py": LOOP})
    change = GitRepository(repo.path).changeset(sha)
    ctx = AgentContext(repo_path=repo.path, config=config)
    found = (await CriticAgent().analyze(change, ctx)).findings
    assert [f.severity for f in found if f.rule == "CR001"] == [Severity.MEDIUM]


async def test_process_calls_ranked_by_how_the_command_is_built(repo) -> None:
    found = await findings(repo, {"pkg/proc.py": PROCESSES})
    by_symbol = {(f.rule, f.symbol): f for f in found}
    assert not [f for f in found if f.rule == "S603"]  # list literals, no shell
    assert by_symbol[("S602", "run")].severity == Severity.CRITICAL
    listing = by_symbol[("S602", "listing")]
    assert listing.severity == Severity.LOW and "nothing from outside" in listing.message
    passthrough = by_symbol[("S602", "passthrough")]
    assert (
        passthrough.severity == Severity.HIGH and "not built from a variable" in passthrough.message
    )
    assert by_symbol[("S602", "built")].severity == Severity.CRITICAL  # via its assignment
    assert by_symbol[("S605", "system")].severity == Severity.CRITICAL


async def test_sql_in_an_error_message_is_not_a_query(repo) -> None:
    found = await findings(repo, {"pkg/db.py": SQL})
    (query,) = at(found, "S608", "pkg/db.py")
    assert query.symbol == "fetch" and query.severity == Severity.HIGH


async def test_exec_in_a_shell_command_is_medium_with_the_reason(repo) -> None:
    found = await findings(repo, {"pkg/tools.py": SHELLS})
    by_symbol = {(f.rule, f.symbol): f for f in found}
    shell = by_symbol[("S102", "interactive_shell")]
    assert shell.severity == Severity.MEDIUM and "interactive_shell" in shell.message
    assert "run code it is given" in shell.message
    assert by_symbol[("S307", "ask")].severity == Severity.CRITICAL
    assert by_symbol[("S307", "constant")].severity == Severity.LOW
    confined = by_symbol[("S307", "confined")]
    assert confined.severity == Severity.HIGH and "strip __builtins__" in confined.message


RANDOMS = """import random


def jitter(delay):
    return delay * random.random()


def make_reset_token():
    return "".join(random.choice("abcdef0123456789") for _ in range(32))


def close(stream):
    try:
        stream.close()
    except Exception:
        pass
"""


async def test_random_is_high_only_for_a_secret_and_except_pass_is_low(repo) -> None:
    found = await findings(repo, {"pkg/util.py": RANDOMS})
    by_symbol = {(f.rule, f.symbol): f for f in found}
    assert by_symbol[("S311", "jitter")].severity == Severity.LOW
    token = by_symbol[("S311", "make_reset_token")]
    assert token.severity == Severity.HIGH and "random for a secret" in token.message
    assert by_symbol[("S110", "close")].severity == Severity.LOW


PAGERS = """import os
import tempfile


def find_editor():
    for editor in "vim", "nano":
        if os.system(f"which {editor} >/dev/null 2>&1") == 0:
            return editor


def page():
    fd, filename = tempfile.mkstemp()
    os.system(f'more "{filename}"')


def edit(filename):
    os.system(f'vim "{filename}"')


def tempfile_pager(cmd):
    fd, filename = tempfile.mkstemp()
    os.system(f'{cmd} "{filename}"')


def open_in(editor, filename):
    os.system(f'{editor} "{filename}"')
"""


async def test_a_shell_command_built_from_literals_or_a_temp_path_is_not_exploitable(repo) -> None:
    found = await findings(repo, {"pkg/pager.py": PAGERS})
    by_symbol = {f.symbol: f.severity for f in found if f.rule == "S605"}
    assert by_symbol == {
        "find_editor": Severity.LOW,  # loops over literal program names
        "page": Severity.LOW,  # a path tempfile made
        "edit": Severity.CRITICAL,  # the caller's file name reaches the shell
        "tempfile_pager": Severity.LOW,  # the program to run, by its name, and a temp path
        "open_in": Severity.CRITICAL,  # the program, and the caller's file name
    }


async def test_test_code_never_ranks_above_the_same_code_elsewhere(repo) -> None:
    source = PAGERS + (
        "\n\ndef render(text):\n    import jinja2\n\n"
        "    return jinja2.Environment().from_string(text).render()\n"
    )
    found = await findings(repo, {"pkg/pager.py": source, "tests/test_pager.py": source})
    by_place = {(f.path, f.symbol, f.rule): f.severity for f in found}
    assert by_place[("tests/test_pager.py", "page", "S605")] == Severity.LOW  # as in pkg/
    assert by_place[("tests/test_pager.py", "edit", "S605")] == Severity.HIGH  # one level down
    assert ("pkg/pager.py", "render", "S701") in by_place
    assert ("tests/test_pager.py", "render", "S701") not in by_place  # the test's own template


LEXER = """def parse(tokens):
    out = []
    for token in tokens:
        if token == "(":
            out.append(token)
        elif token == "with":
            out.append("or")
    return out


def login(password):
    return password == "hunter2-admin"
"""


async def test_a_parsers_short_tokens_are_not_hardcoded_passwords(repo) -> None:
    found = await findings(repo, {"pkg/lexer.py": LEXER})
    assert [(f.rule, f.symbol) for f in found if f.rule.startswith("S10")] == [("S105", "login")]


LICENSES = """def valid(expression):
    parts = []
    for token in expression.lower().split():
        if token not in {"or", "and", "(", ")"}:
            parts.append("False")
        elif token == "(" and parts and parts[-1] not in {"or", "and"}:
            raise ValueError(expression)
        else:
            parts.append(token)
    code = " ".join(parts)
    return eval(code, globals(), locals()) is False


def loose(expression):
    parts = []
    for token in expression.split():
        if token not in {"or", "and"}:
            parts.append(token)
        else:
            parts.append(token)
    code = " ".join(parts)
    return eval(code)
"""


async def test_eval_of_code_joined_from_allowlisted_tokens_is_low(repo) -> None:
    found = await findings(repo, {"pkg/licenses.py": LICENSES})
    by_symbol = {f.symbol: f for f in found if f.rule == "S307"}
    assert by_symbol["valid"].severity == Severity.LOW
    assert "allowlisted tokens" in by_symbol["valid"].message
    assert by_symbol["loose"].severity == Severity.CRITICAL  # the raw token reaches eval


async def test_no_critical_in_test_code(repo) -> None:
    test = PROCESSES.replace("def ", "def test_")
    found = await findings(repo, {"tests/test_proc.py": test, "tests/test_tools.py": SHELLS})
    assert found and all(f.severity != Severity.CRITICAL for f in found)
    run = [f for f in found if f.symbol == "test_run" and f.rule == "S602"]
    assert [f.severity for f in run] == [Severity.HIGH] and "in test code" in run[0].message
    assert not [f for f in found if f.rule in ("S102", "S307")]


async def test_mark_safe_in_an_escaping_helper_is_demoted(repo) -> None:
    found = await findings(repo, {"pkg/html.py": ESCAPING})
    by_symbol = {f.symbol: f for f in found if f.rule == "S308"}
    assert by_symbol["escape_html"].severity == Severity.MEDIUM
    assert "escaping helper" in by_symbol["escape_html"].message
    assert by_symbol["render"].severity == Severity.HIGH


# -- the pure functions ----------------------------------------------------------------------


def chain_of(source: str, line: int, text: str) -> list[ast.AST]:
    column = source.splitlines()[line - 1].index(text)
    return purpose.node_chain(ast.parse(source), line, column)


def call_of(expression: str) -> ast.Call:
    node = ast.parse(expression).body[0].value  # type: ignore[attr-defined]
    assert isinstance(node, ast.Call)
    return node


def test_is_formatted() -> None:
    def formatted(expression: str) -> bool:
        return purpose.is_formatted(ast.parse(expression).body[0].value)  # type: ignore[attr-defined]

    assert formatted('f"git {arg}"') and formatted('"ls " + arg') and formatted('"a %s" % x')
    assert formatted('"git {}".format(x)') and formatted('" ".join(parts)')
    assert not formatted('"ls -la"') and not formatted('f"plain"') and not formatted('"a" + "b"')
    assert not formatted("cmd") and not formatted('" ".join(["a", "b"])')
    scope = ast.parse("def f(a):\n    cmd = 'x'\n    cmd += a\n    run(cmd)\n")
    assert purpose.is_formatted(ast.Name("cmd"), scope)


def test_argv_is_literal() -> None:
    assert purpose.argv_is_literal(call_of('run(["git", "status"])'))
    assert purpose.argv_is_literal(call_of('run(("git", arg, *rest))'))
    assert purpose.argv_is_literal(call_of('run(args=["git", name])'))
    assert not purpose.argv_is_literal(call_of('run(["sh", "-c", f"git {arg}"])'))
    assert not purpose.argv_is_literal(call_of("run(argv)"))


def test_string_is_message() -> None:
    source = (
        "def f(cursor, x, log):\n"
        '    raise ValueError(f"SELECT {x} failed")\n'
        '    log.warning("DELETE FROM %s skipped" % x)\n'
        '    cursor.execute(f"SELECT * FROM {x}")\n'
        '    sql = f"SELECT * FROM {x}"\n'
        '    cursor.execute(error_text(f"UPDATE {x}"))\n'
    )
    assert purpose.string_is_message(chain_of(source, 2, 'f"SELECT'))
    assert purpose.string_is_message(chain_of(source, 3, '"DELETE'))
    assert not purpose.string_is_message(chain_of(source, 4, 'f"SELECT'))
    assert not purpose.string_is_message(chain_of(source, 5, 'f"SELECT'))
    assert not purpose.string_is_message(chain_of(source, 6, 'f"UPDATE'))


def test_purpose_names() -> None:
    assert purpose.purpose_matches(purpose.SHELL_PURPOSE, "pkg/x.py", "Cli.interactive_shell")
    assert purpose.purpose_matches(purpose.SHELL_PURPOSE, "cmds/shell.py", "Command.handle")
    assert purpose.purpose_matches(purpose.SHELL_PURPOSE, "pkg/x.py", "InteractiveQuestioner.ask")
    assert purpose.purpose_matches(purpose.SHELL_PURPOSE, "pkg/x.py", "load") is None
    esc = purpose.ESCAPE_PURPOSE
    assert purpose.purpose_matches(esc, "pkg/html.py", "format_html", module=False)
    assert purpose.purpose_matches(esc, "pkg/html.py", "escape", module=False)
    assert purpose.purpose_matches(esc, "pkg/safe.py", "render", module=False) is None
    assert purpose.purpose_matches(esc, "pkg/x.py", "render_unsafe", module=False) is None


def test_code_is_constant() -> None:
    assert purpose.code_is_constant(call_of('eval("1 + 1")'))
    assert not purpose.code_is_constant(call_of("eval(input())"))
    assert not purpose.code_is_constant(call_of("exec(code)"))


def test_test_code_table_is_validated(tmp_path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[critic.test_code]\ndrop = ["S"]\nmax_severity = "low"\n', encoding="utf-8")
    table = load_config(None, good).data["critic"]["test_code"]
    assert table["drop"] == ["S"] and table["max_severity"] == "low"
    for bad in ('max_severity = "urgent"', "confidence_factor = 2.0", "levels_down = 9"):
        path = tmp_path / "bad.toml"
        path.write_text(f"[critic.test_code]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"critic\.test_code\."):
            load_config(None, path)


async def test_unsafe_yaml_is_critical_in_library_code_only(repo) -> None:
    source = "import yaml\n\n\ndef load(text):\n    return yaml.load(text)\n"
    found = await findings(repo, {"pkg/conf.py": source, "tests/test_conf.py": source})
    assert [(f.path, f.severity) for f in found if f.rule == "S506"] == [
        ("pkg/conf.py", Severity.CRITICAL)
    ]


def test_judge_gives_a_reason_only_when_it_ranks_lower() -> None:
    from controlroom.agents.critic.context import TestCodePolicy, judge

    source = 'import subprocess\n\n\ndef f():\n    subprocess.run("ls", shell=True)\n'
    tree = ast.parse(source)
    chain = purpose.node_chain(tree, 5, source.splitlines()[4].index("shell"))
    policy = TestCodePolicy.from_config({})
    lower = judge("S602", "pkg/a.py", "f", Severity.CRITICAL, 0.8, policy, lambda: chain)
    assert (lower.drop, lower.severity, lower.confidence) == (False, Severity.LOW, 0.8)
    assert lower.reason == "nothing from outside the program reaches the command"
    same = judge("S602", "pkg/a.py", "f", Severity.LOW, 0.8, policy, lambda: chain)
    assert (same.severity, same.reason) == (Severity.LOW, "")
    unparsed = judge("S602", "pkg/a.py", "f", Severity.CRITICAL, 0.8, policy, lambda: None)
    assert unparsed.severity == Severity.CRITICAL  # no AST: the table's severity stands


async def test_a_test_fixture_that_does_not_parse_ranks_lower(repo) -> None:
    broken = "def f(:\n    pass\n"
    found = await findings(repo, {"tests/fixtures/bad.py": broken, "pkg/bad.py": broken})
    ranks = {f.path: f.severity for f in found if f.rule == "SYNTAX"}
    assert ranks == {"tests/fixtures/bad.py": Severity.MEDIUM, "pkg/bad.py": Severity.HIGH}


def test_node_chain_looks_through_match_cases_and_comprehensions() -> None:
    source = (
        "def f(cursor, x):\n"
        "    match x:\n"
        "        case 1:\n"
        '            raise ValueError(f"SELECT a FROM {x} is wrong")\n'
        '    return [r for r in cursor.execute(f"SELECT * FROM {x}")]\n'
    )
    in_case = chain_of(source, 4, 'f"SELECT')
    assert isinstance(in_case[-1], ast.JoinedStr | ast.Constant)
    assert purpose.string_is_message(in_case)
    assert not purpose.string_is_message(chain_of(source, 5, 'f"SELECT'))


FEATURE_TEST = """\
try:
    ExceptionGroup
except NameError:
    class ExceptionGroup(Exception):
        pass


def check(value):
    value.real
    return value
"""


async def test_a_useless_expression_that_probes_for_a_name_is_a_feature_test(repo) -> None:
    found = await findings(repo, {"pkg/compat.py": FEATURE_TEST})
    assert [f.line for f in at(found, "B018", "pkg/compat.py")] == [9]  # only the real one


PARTIAL = """\
import shlex


def split(text):
    out = []
    try:
        for token in shlex.shlex(text, posix=True):
            out.append(token)
    except ValueError:
        pass
    return out


def copy(items):
    out = []
    for item in items:
        out.append(item)
    return out


class Combined(dict):
    def values(self):
        for _, value in self.items():
            yield value

    def total(self):
        n = 0
        for _, value in self.items():
            n += value
        return n
"""


async def test_copy_suggestions_that_would_change_behaviour_are_dropped(repo) -> None:
    found = await findings(repo, {"pkg/split.py": PARTIAL})
    assert [f.line for f in at(found, "PERF402", "pkg/split.py")] == [17]  # not the try loop
    assert [f.symbol for f in at(found, "PERF102", "pkg/split.py")] == ["Combined.total"]


def _branchy(extra: str, params: str = "x") -> str:
    checks = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    return f"def route({params}):\n{checks}{extra}    return -1\n"


async def test_complexity_is_reported_only_when_the_commit_added_to_it(repo) -> None:
    repo.commit({"pkg/route.py": _branchy("")})
    sha = repo.commit({"pkg/route.py": _branchy("", "x, y=0")})  # the def line changes
    change = GitRepository(repo.path).changeset(sha)
    ctx = AgentContext(repo_path=repo.path, config=load_defaults()["critic"])
    found = (await CriticAgent().analyze(change, ctx)).findings
    assert at(found, "C901", "pkg/route.py") == []  # as complex in the parent
    extra = "    if x == y:\n        return 99\n"
    more = await findings(repo, {"pkg/route.py": _branchy(extra, "x, y=1")})
    assert [f.symbol for f in at(more, "C901", "pkg/route.py")] == ["route"]


CLI = """\
import datetime

from .models import Default


def greet(name=Default("you"), loud=Default(False), times=Default(1)):  # typer's own marker
    return name * times


def stamp(at=datetime.datetime.now(), also=datetime.datetime.now(), then=datetime.datetime.now()):
    return at


def connect(pool=make_pool()):
    return pool
"""


async def test_a_call_used_as_many_defaults_is_an_idiom_the_clock_still_a_bug(repo) -> None:
    found = at(await findings(repo, {"app/cli.py": CLI}), "B008", "app/cli.py")

    by_line = {f.line: f for f in found}
    markers = [f for f in found if "`Default`" in f.message]
    assert len(markers) == 3 and {f.severity for f in markers} == {Severity.LOW}
    assert "`Default(...)` is the default of 3 parameters in this file" in markers[0].message
    clocks = [f for f in found if "datetime.now" in f.message]
    assert len(clocks) == 3 and {f.severity for f in clocks} == {Severity.MEDIUM}  # per call
    assert by_line[14].severity is Severity.MEDIUM  # once: not an idiom


CODEGEN = """\
def mapping_factory(cl, converter, unstructure_to=None, key_handler=None):
    kh = key_handler or converter.unstructure
    fn_name = "unstructure_mapping"
    globs = {"__k": kh, "__cl": unstructure_to or cl}
    k_u = "__k(k)" if kh is not None else "k"
    lines = [f"def {fn_name}(mapping):"]
    if unstructure_to is dict:
        lines.append(f"    return {{{k_u}: v for k, v in mapping.items()}}")
    else:
        lines.append(f"    res = __cl(({k_u}, v) for k, v in mapping.items())")
        lines = [*lines, "    return res"]
    eval(compile("\\n".join(lines), "", "exec"), globs)
    return globs[fn_name]


def tuple_factory(handlers, globs):
    lines = ["def unstructure_tuple(tup):", "    return ("]
    for i in range(len(handlers)):
        lines.append(f"        __u_{i}(tup[{i}]),")
    lines += ["    )"]
    source = "\\n".join(lines)
    exec(source, globs)
    return globs["unstructure_tuple"]


def caller_text(expression, globs):
    lines = [f"def f():", f"    return {expression}"]
    exec("\\n".join(lines), globs)


def attribute_names(cl, globs):
    lines = ["def init(self):"]
    for name in cl.fields:
        lines.append(f"    self.{name} = None")
    exec("\\n".join(lines), globs)
"""


async def test_code_a_function_writes_from_its_own_templates_is_low(repo) -> None:
    every = await findings(repo, {"lib/gen.py": CODEGEN})
    found = at(every, "S307", "lib/gen.py") + at(every, "S102", "lib/gen.py")

    by_symbol = {f.symbol: f for f in found}
    assert by_symbol["mapping_factory"].severity is Severity.LOW
    assert "generates from its own templates" in by_symbol["mapping_factory"].message
    assert by_symbol["tuple_factory"].severity is Severity.LOW  # range numbers, lines += [...]
    assert by_symbol["caller_text"].severity is Severity.CRITICAL  # a parameter in the code
    assert by_symbol["attribute_names"].severity is Severity.CRITICAL  # names from a loop over data
