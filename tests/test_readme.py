"""Every ```python block of README.md runs as written: each is a complete program (its imports, its own small
data), executed in a fresh namespace as ``__main__`` with the working directory a temporary one, so the files
an example writes land there. A block that needs an optional package (scikit-learn, matplotlib, torch, Ray) is
skipped only where that package is not installed; blocks that start Ray are marked "ray" as the other Ray
tests are. Shell blocks are not run here (CI runs the quick-start commands itself)."""
import ast
import re
import sys
import textwrap
import traceback
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
MIN_BLOCKS = 8  # the README's python blocks when this test was written: fewer found means the parser broke
PYTHON_INFO = {"python", "py", "python3"}

# Optional packages a block needs without importing them itself (the package imports them on first use).
INDIRECT = [(re.compile(r"\bGD(Classifier|Regressor)\b|\bload_digits_split\b|\bbatchnorm_comparison\b"), "sklearn"),
            (re.compile(r"""backend\s*=\s*["']ray["']|\bRayBackend\b"""), "ray"),
            (re.compile(r"\b(gd|gdfast)\.viz\b|\bfrom gdfast import viz\b"), "matplotlib")]
OPTIONAL = {"sklearn", "matplotlib", "torch", "ray"}


def readme_blocks(text):
    """[(heading, first line number of the code, code)] for every python fenced block, in order. Fences may be
    indented up to three spaces (inside a list); headings inside fences are ignored."""
    blocks, heading, fence = [], "README", None
    for lineno, line in enumerate(text.splitlines(), 1):
        if fence is None:
            opening = re.match(r"^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)", line)
            if opening:
                indent, marks, info = opening.groups()
                fence = (indent, marks, info.lower() in PYTHON_INFO, lineno + 1, [])
                continue
            title = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
            if title:
                heading = title.group(1)
        else:
            indent, marks, is_python, start, lines = fence
            if re.match(rf"^ {{0,3}}{marks[0]}{{{len(marks)},}}\s*$", line):
                if is_python:
                    blocks.append((heading, start, textwrap.dedent("\n".join(lines)) + "\n"))
                fence = None
            else:
                lines.append(line[len(indent):] if line.startswith(indent) else line.lstrip(" "))
    return blocks


def slug(heading):
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-") or "readme"


def needs(code):
    """The optional top-level packages a block imports or uses."""
    found = set()
    try:
        tree = ast.parse(code)
    except SyntaxError:  # reported by the test, with the block
        tree = ast.Module(body=[], type_ignores=[])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    found &= OPTIONAL
    found.update(package for pattern, package in INDIRECT if pattern.search(code))
    return sorted(found)


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
PARAMS = [pytest.param(start, code, id=f"{slug(heading)}-{i}",
                       marks=[pytest.mark.ray] if "ray" in needs(code) else [])
          for i, (heading, start, code) in enumerate(BLOCKS, 1)]


def test_the_readme_has_its_python_blocks():
    assert len(BLOCKS) >= MIN_BLOCKS, (f"found {len(BLOCKS)} ```python blocks in {README}, expected at least "
                                       f"{MIN_BLOCKS}: the fence parser misses some")


@pytest.mark.parametrize("start, code", PARAMS)
def test_readme_block_runs(start, code, tmp_path, monkeypatch):
    for package in needs(code):
        pytest.importorskip(package)
    ray_was_running = _ray_running()
    monkeypatch.chdir(tmp_path)
    failure = None
    try:
        # Padded so that a traceback's line numbers are README.md's.
        exec(compile("\n" * (start - 1) + code, str(README), "exec"), {"__name__": "__main__"})
    except (Exception, SystemExit):
        numbered = "\n".join(f"{start + i:5d}  {line}" for i, line in enumerate(code.splitlines()))
        failure = f"the README block starting at README.md:{start} failed:\n\n{numbered}\n\n{traceback.format_exc()}"
    finally:
        if _ray_running() and not ray_was_running:  # the block started a local Ray instance
            sys.modules["ray"].shutdown()
    if failure is not None:
        pytest.fail(failure, pytrace=False)


def _ray_running():
    ray = sys.modules.get("ray")
    return ray is not None and ray.is_initialized()
