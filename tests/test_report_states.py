"""Actor states in the reports: the trace names a state by its digest, and the views find
its bytes in the trace's chain events and show a preview beside the digest."""

from __future__ import annotations

import pytest

from conftest import ACTORS, manifest
from theater_harness import Runtime, report
from theater_harness.faults import FaultSchedule, fault
from theater_harness.report._states import preview, states_of
from theater_harness.trace import state_digest

pytest_plugins = ["pytester"]

SUPERVISOR = f'''name = "sup"
component = "{ACTORS / 'echo.wasm'}"

[[handler]]
type = "runtime"

[[handler]]
type = "message-server"

[[handler]]
type = "supervisor"

[supervision]
intensity = 5

[supervision.default]
recovery = "last"
'''


def corrupted(**params) -> Runtime:
    """A counter under a supervisor that recovers its last state; it counts to 1, is
    stopped at 50 ms and restarted from the state a corrupt-state fault gives."""
    rt = Runtime(seed=1, faults=FaultSchedule([fault("corrupt-state", "worker", at_ms=10, **params)]))
    sup = rt.spawn(SUPERVISOR)
    worker = rt.spawn(manifest("counter"), name="worker", parent=sup)
    rt.send(worker, "inc")
    rt.run(until=50)
    rt.stop(worker)
    rt.run_until_idle()
    return rt


@pytest.mark.parametrize("raw, shown", [
    (b'{"count":6}', '{"count":6}'),
    (b'{\n  "count": 6\n}', '{\\n  "count": 6\\n}'),
    (b"hello", '"hello"'),
    (b"\x00corrupted state\x00", '"\\u0000corrupted state\\u0000"'),
    (b"\xff\x00", "hex ff00"),
    (b"", '""'),
])
def test_a_state_is_shown_as_json_as_quoted_text_or_as_hex(raw, shown):
    assert preview(raw) == shown


def test_a_long_state_is_cut_with_its_size():
    assert preview(b'{"items":"' + b"x" * 200 + b'"}', limit=20) == '{"items":"xxxxxxxxx\u2026 (212 bytes)'


def test_the_states_of_a_trace_are_the_states_its_chain_events_hold():
    rt = Runtime(seed=1)
    counter = rt.spawn(manifest("counter"), init_state={"count": 5})
    rt.send(counter, "inc")
    rt.run_until_idle()
    assert states_of(rt.trace.dicts()) == {state_digest(b'{"count":5}'): b'{"count":5}',
                                           state_digest(b'{"count":6}'): b'{"count":6}'}


def test_a_saved_trace_gives_the_same_states_as_the_runtime():
    rt = corrupted(state='{"count":9}')
    assert report.States(rt.trace.to_json()).raw == report.States(rt).raw


def test_the_state_a_corrupt_state_fault_gave_is_known_by_its_digest():
    states = report.States(corrupted(state='{"count": 9}'))  # the counter's init keeps '{"count":9}'
    digest = state_digest(b'{"count": 9}')
    assert states.text(digest) == f'{digest} {{"count": 9}}'


def test_the_default_corrupted_state_is_known_by_its_digest():
    states = report.States(corrupted())
    digest = state_digest(b"\x00corrupted state\x00")
    assert states.text(digest) == f'{digest} "\\u0000corrupted state\\u0000"'


def test_no_state_is_none():
    assert report.States([]).text(None) == "none"


def test_annotate_adds_the_state_after_each_digest_the_trace_holds_and_leaves_other_hex_alone():
    states = report.States(corrupted(state='{"count":9}'))
    nine, one = state_digest(b'{"count":9}'), state_digest(b'{"count":1}')
    text = f"from {nine} to {one}, not {'f' * 16} nor {'a' * 40}"
    assert states.annotate(text) == (f'from {nine} ({{"count":9}}) to {one} ({{"count":1}}), '
                                     f"not {'f' * 16} nor {'a' * 40}")


FAILING = f'''
from theater_harness.faults import FaultSchedule, fault
from theater_harness.invariants import assert_holds

SUPERVISOR = {SUPERVISOR!r}

def test_recovers(theater):
    theater.inject(FaultSchedule([fault("corrupt-state", "worker", at_ms=10, state='{{"count":9}}')]))
    sup = theater.spawn(SUPERVISOR)
    worker = theater.spawn({str(manifest("counter"))!r}, name="worker", parent=sup)
    theater.send(worker, "inc")
    theater.run(until=50)
    theater.stop(worker)
    theater.run_until_idle()
    assert_holds(theater, only=["state_recovery"])
'''


def test_the_failure_report_shows_each_state_of_a_violation_beside_its_digest(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=FAILING)
    result = pytester.runpytest("-p", "no:faulthandler", "-p", "no:cacheprovider", "--theater-seed", "1")
    result.assert_outcomes(failed=1)
    nine, one = state_digest(b'{"count":9}'), state_digest(b'{"count":1}')
    result.stdout.fnmatch_lines([
        f'  state_recovery at 50 ms: worker restarted (incarnation 2, recovery last) from state {nine} '
        f'({{"count":9}}), but last recovery promises its last committed state (previous exit): {one} '
        f'({{"count":1}}); fault #0 (corrupt-state) fired on this restart (records *)'])
