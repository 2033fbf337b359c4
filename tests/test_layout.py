"""The package layout's rules, checked on the source: data flows one way and each layer stays in its room."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATH = ("kernel", "spectral", "matrices", "cooccurrence", "embeddings", "qwem", "schedules", "forecast", "significance")
EDGE = ("cli", "options", "training", "monitors", "experiments", "integrations", "minigpt")


TOP = ("mobius_init.experiments", "mobius_init.cli")  # orchestration: may use res2vec, lazily


def imports(top_level_only: bool = False) -> dict[str, set[str]]:
    """Module -> project modules it imports (relative imports resolved); only the module-level ones with
    ``top_level_only``."""
    graph = {}
    for package in ("mobius_init", "res2vec"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            here = list(parts[:-1])
            deps = set()
            tree = ast.parse(path.read_text())
            for node in tree.body if top_level_only else ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    base = here[: len(here) - node.level + 1] if node.level else []
                    target = ".".join(base + ([node.module] if node.module else []))
                    for alias in node.names:
                        full = f"{target}.{alias.name}"
                        deps.add(full if (ROOT / Path(*full.split("."))).with_suffix(".py").exists() else target)
                elif isinstance(node, ast.Import):
                    deps |= {a.name for a in node.names}
            graph[name] = {d for d in deps if d.split(".")[0] in ("mobius_init", "res2vec")}
    return graph


def test_no_import_cycle():
    graph = imports()
    state: dict[str, int] = {}

    def visit(module, stack):
        state[module] = 1
        for dep in graph.get(module, ()):
            if dep in ("mobius_init", "res2vec") or dep not in graph:
                continue  # the packages' __init__ re-exports are the top, not a layer
            assert state.get(dep) != 1, f"import cycle: {' -> '.join([*stack, module, dep])}"
            if dep not in state:
                visit(dep, [*stack, module])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


def test_layers():
    graph, module_level = imports(), imports(top_level_only=True)
    for module, deps in graph.items():
        if module.startswith("res2vec"):
            assert not any(d.startswith("mobius_init.cli") for d in deps), f"{module} imports mobius-init's CLI"
        elif module.startswith(TOP):  # the top layer orchestrates both packages, importing res2vec lazily
            assert not any(d.startswith("res2vec") for d in module_level[module]), f"{module} imports res2vec eagerly"
        else:
            assert not any(d.startswith("res2vec") for d in deps), f"library module {module} imports res2vec"
        if module.split(".")[-1] in MATH:
            edge = [d for d in deps if d.split(".")[1] in EDGE]
            assert not edge, f"math module {module} imports {edge}"


SHARED = ("arms", "data", "cache", "claims", "report")  # what experiments share


def test_experiments_are_siblings():
    """What several experiments share lives where each imports it (SHARED); no experiment imports another
    (its own parts, ``horizons_report`` for ``horizons``, excepted)."""
    graph = imports()
    experiments = [m for m in graph if m.startswith("mobius_init.experiments.") and m.split(".")[-1] not in SHARED]
    for module in experiments:
        others = {m for m in graph[module] & set(experiments) if not m.startswith(module + "_")}  # not its own parts
        assert not others, f"{module} imports another experiment: {others}"


MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60  # one screen of attention per function, a few per module


def test_modules_and_functions_stay_small():
    """Every module of both packages is at most MAX_MODULE_LINES lines and every function at most
    MAX_FUNCTION_LINES (decorators and docstring included)."""
    too_long = []
    for package in ("mobius_init", "res2vec"):
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text()
            name = path.relative_to(ROOT)
            if source.count("\n") > MAX_MODULE_LINES:
                too_long.append(f"{name}: {source.count(chr(10))} lines")
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                    if node.end_lineno - first + 1 > MAX_FUNCTION_LINES:
                        too_long.append(f"{name}:{node.lineno} {node.name}: {node.end_lineno - first + 1} lines")
    assert not too_long, "over the size rules: " + "; ".join(too_long)
