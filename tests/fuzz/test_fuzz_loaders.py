"""Fuzzing every loader with mutated copies of real files: each input loads, or raises the
harness's own error naming the file (see fuzzing.py for the mutations and the budget)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import ACTORS, CHAINS, ROOT, SCENARIOS, expect_loads_or_names, fuzz_settings, mutated, mutated_file, \
    strings_of, to_toml
from theater_harness import report
from theater_harness.chain import load_chain_file, verify_chain
from theater_harness.faults import FaultSchedule, fault
from theater_harness.manifest import load_manifest, parse_manifest
from theater_harness.scenario import load_scenario, run_scenario
from theater_harness.supervision import supervision_of
from theater_harness.trees import NodeSpec, tree_from

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


SCENARIO_DOCS = [_toml(p) for p in sorted(SCENARIOS.glob("*.scenario.toml"))]
MANIFEST_PATHS = sorted([*ACTORS.glob("*.toml"), *(SCENARIOS / "supervisors").glob("*.toml"),
                         *(ROOT / "tests" / "data" / "manifests").glob("*.toml"),
                         *(ROOT / "tests" / "data" / "supervision").glob("*.toml")])
MANIFEST_DOCS = [_toml(p) for p in MANIFEST_PATHS]
EVERY_KIND = FaultSchedule([
    fault("trap", "root/worker", on_call=3), fault("err", "worker", at_ms=10, message="nope"),
    fault("init-trap", "w", on_call=2), fault("init-err", "w", message="no"), fault("hang", "w", duration_ms=5),
    fault("slow", "w", at_ms=1, delay_ms=9), fault("memory", "w", at_ms=2),
    fault("host-error", "w", interface="timing", function="sleep", count=2), fault("stop", "w", at_ms=3),
    fault("kill", "w", at_ms=3), fault("corrupt-state", "w", state="x"), fault("drop", link=("a", "b"), on_message=1),
    fault("delay", link=("outside", "b"), at_ms=4, delay_ms=6), fault("duplicate", link=("a", "b")),
    fault("reorder", link=("a", "b"), on_message=2, hold_ms=7),
    fault("partition", groups=[["a", "b"], ["c"]], at_ms=5, duration_ms=50), fault("heal", at_ms=60),
])
SCHEDULE_DOCS = [{"fault": EVERY_KIND.to_dicts()}] + [{"fault": d["fault"]} for d in SCENARIO_DOCS if "fault" in d]


def _tree_dict(node: NodeSpec) -> dict:
    out: dict = {"name": node.name, "restart": node.restart, "recovery": node.recovery,
                 "significant": node.significant}
    if node.policy is not None:
        p = node.policy
        out["supervision"] = {"strategy": p.strategy, "intensity": p.intensity, "period_ms": p.period_ms,
                              "permanent_errors": list(p.permanent_errors), "auto_shutdown": p.auto_shutdown}
    if node.manifest is not None:
        out["manifest"] = "actors/" + Path(node.manifest).name
    if node.init_state is not None:
        out["init_state"] = node.init_state
    if node.children:
        out["children"] = [_tree_dict(c) for c in node.children]
    return out


TREE_DOCS = [_tree_dict(load_scenario(p).tree().root) for p in sorted(SCENARIOS.glob("*.scenario.toml"))
             if load_scenario(p).explore is not None or p.name in ("one-for-one.scenario.toml",
                                                                  "restart-types.scenario.toml")]
TREE_DOCS.append({"name": "root", "supervision": {"strategy": "one_for_one", "intensity": 3}, "children": [
    {"name": "counter", "manifest": "examples:counter.toml", "recovery": "last", "init_state": {"count": 1}},
    {"name": "crasher", "manifest": "examples:crasher.toml", "restart": "transient"}]})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder where relative paths of the bundled files still resolve."""
    work = tmp_path_factory.mktemp("fuzz")
    (work / "actors").symlink_to(ACTORS)
    (work / "supervisors").symlink_to(SCENARIOS / "supervisors")
    for data in (ROOT / "tests" / "data" / "manifests").glob("*.json"):
        shutil.copy(data, work / data.name)
    return work


@pytest.fixture(scope="module")
def traces() -> list[dict]:
    """Saved traces of real runs: one with link faults, one with restarts, one explored tree."""
    import json

    out = []
    for name in ("link-faults", "one-for-one", "recovery", "escalation"):
        result = run_scenario(load_scenario(SCENARIOS / f"{name}.scenario.toml"))
        out.append(json.loads(result.runtime.trace.to_json()))
    return out


@fuzz_settings(800)
@given(data=st.data())
def test_fuzz_scenario_files(workdir, data):
    path = workdir / "fuzzed.scenario.toml"
    path.write_bytes(data.draw(mutated_file(SCENARIO_DOCS, toml=True)))
    expect_loads_or_names("scenario", lambda: load_scenario(path), str(path))


@fuzz_settings(600)
@given(data=st.data())
def test_fuzz_manifest_files(workdir, data):
    path = workdir / "fuzzed-manifest.toml"
    path.write_bytes(data.draw(mutated_file(MANIFEST_DOCS, toml=True)))

    def load() -> None:
        supervision_of(load_manifest(path))

    expect_loads_or_names("manifest", load, str(path))


@fuzz_settings(300)
@given(data=st.data())
def test_fuzz_manifest_text(workdir, data):
    doc = data.draw(mutated(data.draw(st.sampled_from(MANIFEST_DOCS)), toml=True))
    text = to_toml(doc)
    if text is not None:
        expect_loads_or_names("manifest text", lambda: supervision_of(parse_manifest(text, base_dir=workdir)),
                              "<inline manifest>")


@fuzz_settings(600)
@given(data=st.data(), as_json=st.booleans())
def test_fuzz_fault_schedules(workdir, data, as_json):
    path = workdir / ("fuzzed-faults.json" if as_json else "fuzzed-faults.toml")
    seeds = SCHEDULE_DOCS + ([d["fault"] for d in SCHEDULE_DOCS] if as_json else [])
    raw = data.draw(mutated_file(seeds, toml=not as_json))
    text = raw.decode("utf-8", "replace")
    load = FaultSchedule.from_json if as_json else FaultSchedule.from_toml
    expect_loads_or_names("fault schedule", lambda: load(text, source=str(path)), str(path))


@fuzz_settings(600)
@given(data=st.data(), as_text=st.booleans())
def test_fuzz_trees(workdir, data, as_text):
    doc = data.draw(mutated(data.draw(st.sampled_from(TREE_DOCS)), toml=as_text))
    if as_text:
        spec = to_toml(doc)
        if spec is None:
            return
        spec = data.draw(st.sampled_from([spec, spec[:len(spec) // 2], spec + "\nname = 1\n"]))
    else:
        spec = doc
    expect_loads_or_names("tree", lambda: tree_from(spec, base_dir=workdir, source="fuzzed-tree"), "fuzzed-tree")


@fuzz_settings(300)
@given(data=st.data())
def test_fuzz_saved_traces(workdir, traces, data):
    """A saved trace is validated when read, so every view renders what was read."""
    path = workdir / "fuzzed.trace.json"
    corpus = sorted(set().union(*(strings_of(t["records"][:60]) for t in traces)))
    path.write_bytes(data.draw(mutated_file(traces, toml=False, corpus=corpus)))

    def load_and_render() -> None:
        trace = report.read_trace(path)
        report.render_tree(trace)
        report.render_timeline(trace, around_ms=data.draw(st.sampled_from([None, 0, 1500, 2**63 - 1])), window=5)
        report.render_html(trace, title="fuzzed")

    expect_loads_or_names("trace", load_and_render, str(path))


@fuzz_settings(500)
@given(data=st.data())
def test_fuzz_chain_files(workdir, data):
    import json

    path = workdir / "fuzzed-chain.json"
    seeds = [json.loads(p.read_text()) for p in sorted(CHAINS.glob("*.json"))]
    path.write_bytes(data.draw(mutated_file(seeds, toml=False)))
    expect_loads_or_names("chain", lambda: verify_chain(load_chain_file(path)), str(path))
