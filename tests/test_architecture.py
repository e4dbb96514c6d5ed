"""The architecture of docs/architecture.md, checked: no import cycle among gdfast's modules (imports inside
functions included), no function longer than 60 lines in gdfast/ or csrc/, the old flat module paths are the
new modules themselves, and a checkout without the built extension says so on import."""
import ast
import importlib
import inspect
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gdfast"
MAX_LINES = 60


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """The gdfast modules a module imports anywhere in it (top level or inside functions), resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = ".".join(base[:len(base) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from . import x`: x may be a module
    return {m for m in found if m.split(".")[0] == "gdfast"}


def import_graph():
    """{module: the gdfast modules it imports}, for the modules under gdfast/ (a package's __init__ counts as
    the package)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for m in _imports(path):
            while m and m not in modules:  # `from x import name`: the module is x
                m = m.rpartition(".")[0]
            if m and m != name and not name.startswith(m + "."):  # a module's own package is its context
                targets.add(m)
        graph[name] = targets
    return graph


def find_cycle(graph):
    """A list of modules forming an import cycle, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 30 and graph["gdfast.linear.trainer"]  # the graph was read
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_python_functions_are_short():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def c_function_lengths(text):
    """(first line, name, lines) of each function of a C source: a brace opened at file level right after a
    parenthesised signature (the signature may span lines; structs, initializers and macros are not functions).
    Functions over REAL/SFX() are named by SFX's argument."""
    out, depth, start, name, pending = [], 0, None, None, ""
    for number, line in enumerate(text.splitlines(), 1):
        code = re.sub(r"//.*|/\*.*?\*/|\"(\\.|[^\"])*\"|'(\\.|[^'])*'", "", line)
        if depth == 0 and code.lstrip().startswith("#"):
            pending = ""
            continue
        for char in code:
            if depth == 0 and start is None and char == "{":
                signature = pending.strip()
                if re.search(r"\)\s*$", signature) and not re.match(r"(typedef|struct|enum)\b", signature) \
                        and "=" not in signature:
                    found = re.search(r"SFX\((\w+)\)", signature) or re.search(r"(\w+)\s*\(", signature)
                    start, name = number, found.group(1)
            depth += (char == "{") - (char == "}")
            pending = "" if depth == 0 and char in ";}" else pending + char
            if depth == 0 and start is not None and char == "}":
                out.append((start, name, number - start + 1))
                start = None
        pending += " "
    return out


def test_c_functions_are_short():
    long = [f"{path.name}:{start} {name} ({lines} lines)" for path in sorted((ROOT / "csrc").glob("*.[ch]"))
            for start, name, lines in c_function_lengths(path.read_text()) if lines > MAX_LINES]
    assert not long, long


def test_c_function_lengths_are_measured():
    text = "static int f(int a)\n{\n" + "    a++;\n" * 70 + "}\nint g(void) { return 0; }\n"
    # the body, braces included
    assert [(n, lines) for _, n, lines in c_function_lengths(text)] == [("f", 72), ("g", 1)]


@pytest.mark.parametrize("old, new", [("kernels", "optim.kernels"), ("reference", "optim.reference"),
                                      ("schedules", "optim.schedules"), ("losses", "linear.losses"),
                                      ("hogwild", "parallel.hogwild"), ("distributed", "parallel.distributed"),
                                      ("functions", "viz.functions"), ("minimize", "optim.minimize"),
                                      ("train", "linear.trainer")])
def test_old_module_paths_are_the_new_modules(old, new):
    assert importlib.import_module(f"gdfast.{old}") is importlib.import_module(f"gdfast.{new}")


def test_importing_a_checkout_without_the_extension_says_what_is_wrong(tmp_path):
    """The package without its compiled _kernels (a fresh checkout), imported without the site hooks of an
    editable install (which would find the built extension elsewhere): a clear ImportError, not a circular one."""
    shutil.copytree(PACKAGE, tmp_path / "gdfast", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    site = [p for p in sys.path if p.endswith("site-packages")]  # numpy and scipy, without .pth hooks (-S)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *site])}
    run = subprocess.run([sys.executable, "-S", "-c", "import gdfast"], env=env, capture_output=True, text=True,
                         cwd=tmp_path)
    assert run.returncode != 0
    assert "gdfast's C extension gdfast._kernels is not built" in run.stderr, run.stderr
    assert "pip install -e ." in run.stderr and "circular import" not in run.stderr


def test_every_public_class_and_function_says_what_it_does():
    with open(ROOT / "tests" / "golden" / "public_api.json") as f:
        api = json.load(f)
    api["gdfast"]["Trainer"] = None
    missing = []
    for module_name, names in api.items():
        module = importlib.import_module("gdfast" if module_name == "gdfast" else f"gdfast.{module_name}")
        for name in names:
            obj = getattr(module, name)
            documented = bool((obj.__doc__ or "").strip())
            if (inspect.isclass(obj) or callable(obj) and not inspect.ismodule(obj)) and not documented:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"no docstring: {missing}"
