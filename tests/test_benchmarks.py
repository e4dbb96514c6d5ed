"""gdfast.benchmarks: the bench/ scripts run --quick as subprocesses, their tables printed, bench/results untouched."""
import io

import pytest

from gdfast.cli import benchmarks

pytestmark = pytest.mark.skipif(not (benchmarks.BENCH / "timing.py").is_file(),
                                reason="the benchmark suite ships with the source tree")


def results_files():
    """{path: (bytes, mtime)} of the committed full tables."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (benchmarks.BENCH / "results").glob("*.md")}


def test_quick_threshold_prints_a_table_and_writes_nothing():
    before = results_files()
    out = io.StringIO()
    results = benchmarks.run(only=["threshold"], stream=out)  # numpy and gdfast only: no torch needed
    assert [(name, code) for name, code, _ in results] == [("bench_threshold.py", 0)]
    text = out.getvalue()
    assert "| rule | N | N/thread |" in text and "|---|---:|" in text
    assert "| adam | 1000000 |" in text and "bench_threshold.py" in text.split("=== summary ===")[1]
    assert results_files() == before


def test_only_accepts_both_spellings():
    assert {"threshold", "dense"} <= set(benchmarks.scripts())
    with pytest.raises(ValueError, match=r"named 'nosuch'; available: .*threshold"):  # bench_threshold.py known
        benchmarks.run(only=["bench_threshold.py", "nosuch"], stream=io.StringIO())


def test_unknown_name_lists_the_scripts():
    with pytest.raises(ValueError, match=r"'nosuch'.*available: .*dense.*threshold"):
        benchmarks.run(only="nosuch", stream=io.StringIO())


def test_missing_suite_says_where_it_ships(monkeypatch, tmp_path):
    monkeypatch.setattr(benchmarks, "BENCH", tmp_path / "bench")
    with pytest.raises(FileNotFoundError, match="source tree"):
        benchmarks.run()


def test_a_failing_script_is_reported_and_the_others_run(monkeypatch, tmp_path):
    (tmp_path / "timing.py").write_text("")
    (tmp_path / "bench_a.py").write_text("import sys\nprint('| a |', sys.argv[1:])\nsys.exit(3)\n")
    (tmp_path / "bench_b.py").write_text("import sys\nprint('| b |', sys.argv[1:])\n")
    monkeypatch.setattr(benchmarks, "BENCH", tmp_path)
    out = io.StringIO()
    results = benchmarks.run(quick=False, stream=out)
    assert [(name, code) for name, code, _ in results] == [("bench_a.py", 3), ("bench_b.py", 0)]
    text = out.getvalue()
    assert "| a | []" in text and "| b | []" in text and "bench_a.py FAILED (exit code 3)" in text
    assert benchmarks.run(only=["b"], stream=out)[0][:2] == ("bench_b.py", 0)
    assert "| b | ['--quick']" in out.getvalue()
