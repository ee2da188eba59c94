"""The benchmark scripts run and measure what they say (smoke runs: the figures
themselves are for the README, never asserted against the wall clock)."""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from conftest import ROOT

BENCHMARKS = ROOT / "benchmarks"


def _load(name: str):
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # the scripts import bench_core, as when run directly
    return importlib.import_module(name)


def test_bench_core_quick_writes_every_figure(tmp_path, capsys):
    out = tmp_path / "core.json"
    assert _load("bench_core").main(["--quick", "--repeat", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())["figures"]
    assert {"send_inc_harness_over_fast", "restarts_per_s", "messages_per_s"} <= set(figures)
    assert all(f["median"] > 0 for f in figures.values())
    assert "ratio harness / bare fast" in capsys.readouterr().out


def test_bench_faults_explores_a_ten_actor_tree_and_checks_every_run(tmp_path, capsys):
    bench = _load("bench_faults")
    assert len(bench.ten_actor_tree().names) == 10
    out = tmp_path / "faults.json"
    assert bench.main(["--repeat", "1", "--examples", "8", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    figures = doc["figures"]
    assert doc["max_faults"] == 8 and figures["runs"]["median"] >= 7
    assert figures["schedules_per_s"]["median"] > 0
    shares = sum(figures[k]["median"] for k in ("run_share", "check_share", "hypothesis_share"))
    assert shares == pytest.approx(1.0)
    assert "fault schedules / s" in capsys.readouterr().out


def test_bench_scale_spawns_heals_and_stops_a_tree():
    bench = _load("bench_scale")
    tree = bench.tree_of(100)
    assert len(tree.names) == 100
    result = bench.child_tree(100)
    assert result["actors"] == 100 and result["spawn_s"] > 0


def test_bench_scale_counts_events_for_the_cost_curve():
    result = _load("bench_scale").child_curve(10, 200)
    assert (result["events"], result["messages"]) == (200, 200)


def test_bench_scale_children_report_failures_clearly():
    bench = _load("bench_scale")
    with pytest.raises(bench.BenchError, match="child tree 1 exited 1"):
        bench._run_child("tree", 1)  # too small for a tree: the child's check fails


def test_bench_pyactor_without_componentize_py_says_so_and_succeeds(tmp_path, capsys, monkeypatch):
    bench = _load("bench_pyactor")
    monkeypatch.setattr(bench, "componentize_py", lambda: None)
    out = tmp_path / "py.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    assert capsys.readouterr().out.startswith("bench_pyactor: skipped: componentize-py is not installed")
    assert "componentize-py is not installed" in json.loads(out.read_text())["skipped"]


def test_bench_scale_measures_the_bare_calls_of_the_cost_curve():
    assert _load("bench_scale").child_bare(3, 30)["us_per_call"] > 0


def test_bench_packr_quick_writes_every_figure(tmp_path, capsys):
    out = tmp_path / "packr.json"
    assert _load("bench_packr").main(["--quick", "--repeat", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())["figures"]
    assert {"packr_inc_harness_over_api", "packr_restarts_per_s", "packr_supervised_cycles_per_s",
            "comp_inc_harness_over_fast", "comp_restarts_per_s"} <= set(figures)
    assert all(f["median"] > 0 for f in figures.values())
    assert "packr 'inc': ratio harness / bare wasmtime-py" in capsys.readouterr().out


def test_bench_packr_bare_hosts_send_what_the_harness_sends():
    from theater_harness.wasm.packr import cgrf
    from theater_harness.wasm.packr.value import Bytes, Result, Tuple

    bench = _load("bench_packr")
    state = bench._initial_state()
    nodes = int.from_bytes(state[8:12], "little")  # the header's node count
    for payload in (b"inc", b"x" * 4096):
        spliced = bench._next_input(state[16:], nodes, bench._payload_node(payload))
        assert spliced == cgrf.encode_call(state, (Bytes(payload),))  # the harness's own input
    output = cgrf.encode(Result(True, Tuple([cgrf.decode(state)]), b"\x01", b"\x06"))  # result::ok(tuple[state])
    assert bench._state_of(output) == (state[16:], nodes)


@pytest.mark.parametrize("script, said", [
    ("bench_fork", "verdicts and trace hashes: identical for all 8 schedules"),
    ("bench_fork_tests", "verdicts and step observations: identical straight and forked"),
])
def test_the_fork_benchmarks_quick_forked_and_straight_agree(tmp_path, capsys, script, said):
    from theater_harness.fork import fork_problem

    if fork_problem() is not None:
        pytest.skip(f"cannot fork here: {fork_problem()}")
    out = tmp_path / f"{script}.json"
    assert _load(script).main(["--quick", "--json", str(out)]) == 0  # 1 when forked and straight differ
    assert json.loads(out.read_text())["identical"] is True
    assert said in capsys.readouterr().out
