"""Copy-on-write memory images (theater_harness/wasm/_image.py): a component with big data
segments starts each incarnation from an image of them, mapped instead of copied, and is
otherwise the same actor: the same memory byte for byte, the same behaviour and trace,
the same memory cap and failure kinds, through restarts and forks.

The ballast actor (1 MiB of data) is the big component here; the small C actors are given
an image by lowering ``IMAGE_MIN_BYTES`` (the mechanism does not depend on the size), for a
growing actor (hog) and a trapping one (crasher).
"""
from __future__ import annotations

import ctypes
import gc
import hashlib
import json

import pytest

from conftest import ACTORS, ROOT, manifest
from theater_harness import Runtime, wasm
from theater_harness.faults import Fault, FaultSchedule
from theater_harness.fork import Checkpoint, fork_problem
from theater_harness.trees import NodeSpec, Policy, TreeSpec
from theater_harness.wasm import Incarnation, _component, _image, _memory

MiB = 1 << 20
INIT = ("actor", "init")
SEND = ("message-server-client", "handle-send")
REQUEST = ("message-server-client", "handle-request")
BALLAST_DATA = (1 << 20) + 4  # its array and the guest header's few bytes
CAP = 1310720  # 1.25 MiB: the ballast's initial memory (1.125 MiB) and 128 KiB more
TOO_BIG = "y" * 300_000  # a message the ballast's allocator cannot find memory for under CAP
PYCOUNTER = ROOT / "benchmarks" / "pyactor" / ".build" / "pycounter.wasm"


def _noop(*_args):
    return None


def component(name: str, *, imaged: bool):
    """An example actor's component, with a memory image or without one, whatever its size."""
    bytes_ = (ACTORS / f"{name}.wasm").read_bytes()
    threshold = 1 if imaged else 1 << 62
    saved, _image.IMAGE_MIN_BYTES = _image.IMAGE_MIN_BYTES, threshold
    try:
        loaded = _component.inspect(bytes_, str(ACTORS / f"{name}.wasm"))
    finally:
        _image.IMAGE_MIN_BYTES = saved
    assert (loaded.image is not None) == imaged
    return loaded


def incarnate(comp, cap=32 * MiB, fuel=10**9):
    return Incarnation(comp, owner=None, dispatch=_noop, fuel=fuel, memory_cap=cap)


def memory_of(inc) -> bytes:
    """The bytes of an incarnation's one linear memory."""
    regions = [r for r in _memory._REGIONS.values() if r.account is inc.memory]
    assert len(regions) == 1
    return ctypes.string_at(regions[0].base, regions[0].size)


def base_of(inc) -> int:
    return next(r.base for r in _memory._REGIONS.values() if r.account is inc.memory)


@pytest.fixture
def fresh_loads(monkeypatch):
    """``load_component`` forgets what this process loaded, so a changed threshold applies."""
    monkeypatch.setattr(wasm, "_LOADED", {})
    return monkeypatch


# --- which components get an image ----------------------------------------------------------


def test_a_component_with_big_data_segments_gets_an_image():
    ballast = wasm.load_component(ACTORS / "ballast.wasm")
    image = ballast.image
    assert (image.data, image.start, image.length, image.minimum) == (BALLAST_DATA, 65536, 1052672, 18 * 65536)
    assert ballast.sha256 == hashlib.sha256((ACTORS / "ballast.wasm").read_bytes()).hexdigest()  # the file's


def test_small_components_keep_copying_their_data():
    imaged = [path.stem for path in sorted(ACTORS.glob("*.wasm")) if _image.prepare(path.read_bytes())[1]]
    assert imaged == ["ballast"]
    assert wasm.load_component(ACTORS / "counter.wasm").image is None


def test_only_components_are_prepared():
    for name in ("packr_counter.wasm", "counter.toml"):
        data = (ACTORS / name).read_bytes()
        assert _image.prepare(data) == (data, None)


def _bodies(wasm: bytes, start: int, end: int) -> list[tuple[int, bytes]]:
    """The sections of a component, or of a core module (then its data section's segment
    count only), each as (id, body); a core module's sections are read into."""
    out = []
    for section_id, _, body, stop in _image._sections(wasm, start, end):
        if section_id == 1 and wasm[start + 4:start + 8] != b"\x01\0\0\0":  # a component's core module
            out.append((section_id, _bodies(wasm, body, stop)))
        elif section_id == 11 and wasm[start + 4:start + 8] == b"\x01\0\0\0":
            out.append((section_id, _image._leb(wasm, body)[0]))
        else:
            out.append((section_id, wasm[body:stop]))
    return out


def test_the_prepared_component_keeps_everything_but_the_data_bytes():
    data = (ACTORS / "ballast.wasm").read_bytes()
    stripped, image = _image.prepare(data)
    assert _bodies(stripped, 0, len(stripped)) == _bodies(data, 0, len(data))
    assert len(stripped) < 8_000
    assert _image.prepare(stripped) == (stripped, None)  # nothing left to image


@pytest.mark.skipif(not PYCOUNTER.exists(), reason="needs the componentize-py counter: "
                    "pip install 'componentize-py==0.25.*'; python benchmarks/bench_pyactor.py --build-only")
def test_a_componentize_py_actor_gets_an_image_and_works():
    pycounter = wasm.load_component(PYCOUNTER)
    assert pycounter.image.data > 10 * MiB
    rt = Runtime(seed=1)
    actor = rt.spawn(ROOT / "benchmarks" / "pyactor" / "pycounter.toml")
    rt.send(actor, "inc")
    rt.send(actor, "inc")
    rt.run_until_idle()
    assert rt.ask(actor, "get") == b"2"


# --- the same memory, the same actor ----------------------------------------------------------


@pytest.mark.parametrize("name", ["ballast", "counter"])
def test_an_imaged_memory_starts_exactly_as_a_copied_one(name):
    copied = incarnate(component(name, imaged=False))
    imaged = incarnate(component(name, imaged=True))
    assert memory_of(imaged) == memory_of(copied)
    assert imaged.memory.used == copied.memory.used  # charged its whole size, image or not


def test_writes_stay_in_their_incarnation():
    ballast = component("ballast", imaged=True)
    first = incarnate(ballast)
    at = base_of(first) + ballast.image.start + 4096
    original = ctypes.string_at(at, 8)
    ctypes.memmove(at, b"written!", 8)  # as the guest would
    second = incarnate(ballast)
    assert ctypes.string_at(base_of(second) + ballast.image.start + 4096, 8) == original
    assert ctypes.string_at(at, 8) == b"written!"
    del first, second
    gc.collect()
    third = incarnate(ballast)
    assert ctypes.string_at(base_of(third) + ballast.image.start + 4096, 8) == original


def counter_session(comp) -> list:
    inc = incarnate(comp)
    seen = []
    ok, value = inc.call(comp.exports[INIT], (json.dumps({"count": 5}).encode(),))
    state = value[1][0]
    for message in (b"inc", b"add:40", b"add:x", b"\xff"):
        ok, value = inc.call(comp.exports[SEND], (state, (message,)))
        state = value[1][0]
        seen.append((ok, value))
    seen.append(inc.call(comp.exports[REQUEST], (state, ("r1", b"get"))))
    return seen + [inc.memory.used, inc.memory.peak]


def test_an_imaged_actor_behaves_as_a_copied_one():
    assert counter_session(component("counter", imaged=True)) == counter_session(component("counter", imaged=False))


def ballast_run(rt: Runtime) -> tuple[str, list]:
    first = rt.spawn(manifest("ballast"))
    replies = [rt.ask(first, "abcdefgh"), rt.ask(first, "x" * 40)]
    rt.send(first, TOO_BIG)  # lowering it grows the memory, and the cap refuses
    rt.run_until_idle()
    second = rt.spawn(manifest("ballast"))
    replies.append(rt.ask(second, "z"))
    return rt.trace.hash(), replies + [str(rt.actor(first).exit_reason)]


def test_a_run_with_images_has_the_trace_of_a_run_without(fresh_loads):
    imaged = ballast_run(Runtime(seed=7, memory=CAP))
    fresh_loads.setattr(wasm, "_LOADED", {})
    fresh_loads.setattr(_image, "IMAGE_MIN_BYTES", 1 << 62)
    copied = ballast_run(Runtime(seed=7, memory=CAP))
    assert wasm.load_component(ACTORS / "ballast.wasm").image is None
    assert imaged == copied
    assert imaged[1][:3] == [b"ZZZZZZZZ", b"Z" * 16, b"Z"]
    assert imaged[1][3].startswith("memory in theater:simple/message-server-client.handle-send: memory cap of 1310720 bytes")


# --- the memory cap and failure kinds -----------------------------------------------------------


def test_a_big_component_refused_memory_fails_with_memory():
    rt = Runtime(seed=1, memory=CAP)
    ballast = rt.spawn(manifest("ballast"))
    assert wasm.load_component(ACTORS / "ballast.wasm").image is not None
    rt.send(ballast, TOO_BIG)
    rt.run_until_idle()
    reason = rt.actor(ballast).exit_reason
    assert (reason.kind, reason.export) == ("memory", "theater:simple/message-server-client.handle-send")
    assert "memory cap of 1310720 bytes reached" in str(reason) and "unreachable" in str(reason)


def test_an_imaged_hog_fails_with_memory_at_its_cap():
    hog = component("hog", imaged=True)
    inc = incarnate(hog, cap=4 * MiB)
    ok, value = inc.call(hog.exports[INIT], (None,))
    ok, failure = inc.call(hog.exports[SEND], (value[1][0], (b"grow",)))
    assert not ok and failure.kind == "memory"
    assert "memory cap of 4194304 bytes" in failure.message
    assert inc.memory.denials == 1 and 3 * MiB <= inc.memory.peak <= 4 * MiB < inc.memory.denied_size


def test_an_imaged_crasher_traps_with_trap():
    crasher = component("crasher", imaged=True)
    inc = incarnate(crasher, cap=4 * MiB)
    ok, value = inc.call(crasher.exports[INIT], (None,))
    ok, failure = inc.call(crasher.exports[SEND], (value[1][0], (b"trap",)))
    assert not ok and failure.kind == "trap" and "unreachable" in failure.message
    assert inc.memory.denials == 0


def test_a_big_component_out_of_fuel_is_out_of_fuel():
    rt = Runtime(seed=1, fuel=20)  # not enough for init
    ballast = rt.spawn(manifest("ballast"))
    reason = rt.actor(ballast).exit_reason
    assert (reason.kind, reason.export) == ("out-of-fuel", "theater:simple/actor.init")


def test_an_image_over_the_cap_fails_to_instantiate_and_leaks_nothing():
    ballast = component("ballast", imaged=True)
    gc.collect()
    live = _memory.live_memories()
    with pytest.raises(_memory.MemoryCapExceeded) as info:
        incarnate(ballast, cap=512 * 1024)
    assert info.value.kind == "memory" and "needs 1179648 bytes" in str(info.value)
    gc.collect()
    assert info.value.account.memories == 0 and _memory.live_memories() == live


def test_imaged_memories_are_unmapped_not_kept():
    ballast = component("ballast", imaged=True)
    gc.collect()
    _memory.release_pool()
    live = _memory.live_memories()
    incarnations = [incarnate(ballast) for _ in range(5)]
    assert _memory.live_memories() == live + 5
    del incarnations
    gc.collect()
    assert _memory.live_memories() == live and _memory._pooled == 0


# --- restarts and forks ------------------------------------------------------------------------

TREE = TreeSpec(NodeSpec("root", policy=Policy("one_for_one", intensity=5), children=(
    NodeSpec("big", manifest=str(manifest("ballast"))),
    NodeSpec("small", manifest=str(manifest("counter"))),
)))


def test_a_supervisor_restarts_an_imaged_actor_refused_memory():
    rt = Runtime(seed=1, faults=FaultSchedule([Fault("memory", target="root/big", at_ms=10)]))
    ids = TREE.spawn(rt)
    rt.run(until=20)
    rt.send(ids["big"], TOO_BIG)  # the cap is now what it uses: the allocator is refused
    rt.run_until_idle()
    big = rt.actor(ids["big"])
    assert big.alive and big.incarnation == 2
    assert rt.ask(ids["big"], "abc") == b"ZZZ"
    assert [r.fields["reason"]["kind"] for r in rt.trace.of_kind("exit") if r.actor == ids["big"]] == ["memory"]


@pytest.mark.skipif(fork_problem() is not None, reason=f"cannot fork here: {fork_problem()}")
def test_a_fork_of_a_runtime_with_an_imaged_actor():
    rt = Runtime(seed=3, memory=CAP)
    ids = TREE.spawn(rt)
    assert rt.ask(ids["big"], "ab") == b"ZZ"

    def go_on(fork: Runtime) -> list:
        fork.send(ids["big"], TOO_BIG)
        fork.run_until_idle()
        another = fork.spawn(manifest("ballast"))
        return [fork.actor(ids["big"]).incarnation, fork.ask(ids["big"], "abc"), fork.ask(another, "de"),
                fork.trace.hash()]

    checkpoint = Checkpoint(rt)
    first, second = checkpoint.run(go_on), checkpoint.run(go_on)
    assert first == second
    assert first[:3] == [2, b"ZZZ", b"ZZ"]
    assert rt.actor(ids["big"]).incarnation == 1 and rt.ask(ids["big"], "x") == b"Z"  # the original did not move
