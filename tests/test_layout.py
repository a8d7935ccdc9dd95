"""The layout shows the data flow: the import graph of harness/ has no cycle and no arrow pointing up its floors
(every import, also those inside functions, read from the source with ast)."""

import ast

from harness.specs import PROJECT_ROOT

# Lowest first: a module imports only from its own floor or below. A module's floor is that of its longest prefix;
# a prefix ending in '.' holds the package's modules, not the package itself.
FLOORS = [
    ["harness", "harness.errors", "harness.hardware", "harness.stats", "harness.results", "harness.metrics"],
    ["harness.specs", "harness.options"],  # the YAML schemas; the options the CLI and the plugin share
    ["harness.data", "harness.results.checks"],  # task data; the claims a result must pass
    ["harness.models", "harness.approaches"],  # model + approach
    ["harness.training"],  # the one loop, scoring, checkpoints
    ["harness.jobs"],  # what a job is, its identity
    ["harness.report"],  # the table API and the board's parts, which suite kinds draw with
    ["harness.kinds"],  # the suite-kind registry, which finds its kinds when asked
    ["harness.specs.catalog"],  # spec files loaded (a suite YAML's schema is its kind's)
    ["harness.kinds.", "harness.report.board"],  # the suite kinds; the board, which draws every kind's section
    ["harness.declarations"],  # a session's jobs
    ["harness.engine"],  # planning and running jobs
    ["harness.report.publish"],  # published boards (estimates from their runs)
    ["harness.pytest_plugin", "harness.__main__"],  # entry points
]
HARNESS = PROJECT_ROOT / "harness"


def module_names() -> dict[str, object]:
    names = {}
    for path in HARNESS.rglob("*.py"):
        parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports() -> dict[str, set[str]]:
    """Module -> the harness modules it imports (a `from package import module` names the module)."""
    modules = module_names()

    def known(name: str) -> str:
        while name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for module, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {known(alias.name) for alias in node.names if alias.name.startswith("harness")}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("harness"):
                targets |= {known(f"{node.module}.{alias.name}") for alias in node.names}
        graph[module] = targets - {module}
    return graph


def floor(module: str) -> int:
    matches = [
        (len(prefix), index)
        for index, prefixes in enumerate(FLOORS)
        for prefix in prefixes
        if module.startswith(prefix)
        if prefix.endswith(".") or module == prefix or module.startswith(prefix + ".")
    ]
    assert matches, f"{module} is on no floor: add it to FLOORS"
    return max(matches)[1]


def test_no_import_points_up_a_floor():
    graph = imports()
    upward = [
        f"{module} (floor {floor(module)}) → {target} (floor {floor(target)})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if target != "harness" and floor(target) > floor(module)
    ]
    assert not upward, "\n".join(upward)


def test_the_import_graph_has_no_cycle():
    graph, state, cycles = imports(), {}, []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(" → ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


TOY_EXECUTOR = """
from harness.engine.executors import register
from harness.engine.executors.local import LocalExecutor

register("toy", lambda options: LocalExecutor(options.slots))
"""


def test_a_new_executor_is_one_module_found_by_the_registry(tmp_path, monkeypatch):
    import sys

    import pytest

    from harness.engine import executors
    from harness.errors import SpecError

    (tmp_path / "toy_executor.py").write_text(TOY_EXECUTOR)
    monkeypatch.setattr(executors, "__path__", [*executors.__path__, str(tmp_path)])
    monkeypatch.setattr(executors, "EXECUTORS", dict(executors.EXECUTORS))
    monkeypatch.delitem(sys.modules, "harness.engine.executors.toy_executor", raising=False)
    assert {"local", "ray", "toy"} <= set(executors.executors())
    with pytest.raises(SpecError, match="executor 'local' is registered twice"):
        executors.register("local", lambda options: None)
    sys.modules.pop("harness.engine.executors.toy_executor", None)


def test_ruff_lint_and_format_are_clean():
    """pyproject.toml's [tool.ruff]: lines of at most 120 characters, sorted imports, pyflakes, pycodestyle."""
    import subprocess
    import sys

    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=PROJECT_ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
