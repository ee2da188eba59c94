"""Reused linear-memory mappings (theater_harness/wasm/_memory.py, "Reuse"): a memory made
from a kept mapping is exactly a fresh one: zero everywhere, its bounds where its size
says, growable; and the mappings kept stay few."""
from __future__ import annotations

import gc

import pytest
import wasmtime

from theater_harness.wasm import _memory
from theater_harness.wasm._engine import ENGINE

PAGE = 65536
CORE = """
(module
  (memory (export "mem") 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1))))
"""


@pytest.fixture(scope="module")
def module():
    return wasmtime.Module(ENGINE, CORE)


@pytest.fixture(autouse=True)
def no_other_memories():
    """No kept mapping to begin with, and no other test's garbage Store freed (and its
    mapping kept) by a collection in the middle of a test here."""
    gc.collect()
    _memory.release_pool()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def instance(module, cap=64 * PAGE):
    """A fresh instance in a Store of its own, its memory charged to a fresh account, and
    the base address its linear memory got."""
    store = wasmtime.Store(ENGINE)
    store.set_fuel(10**9)
    previous = _memory.enter(_memory.MemoryAccount(cap))
    try:
        exports = wasmtime.Instance(store, module, []).exports(store)
    finally:
        _memory.leave(previous)
    base = _memory._REGIONS[max(_memory._REGIONS)].base  # the newest memory: this one's
    return store, base, {name: exports[name] for name in ("grow", "load", "store")}


def test_a_reused_mapping_reads_zero_with_the_bounds_of_a_fresh_memory(module):
    store, first_base, f = instance(module)
    assert f["grow"](store, 3) == 1
    for page in range(4):  # dirty every page the first memory had
        f["store"](store, page * PAGE + 8, 0x5A5A5A5A)
    store.close()  # its mapping is kept, its pages dropped
    assert _memory._pooled == 1
    store, base, f = instance(module)
    assert base == first_base and _memory._pooled == 0  # the same mapping again
    assert f["load"](store, 8) == 0
    with pytest.raises(wasmtime.Trap, match="out of bounds"):  # 1 page now, not the 4 it had
        f["load"](store, PAGE + 8)
    assert f["grow"](store, 3) == 1
    assert [f["load"](store, page * PAGE + 8) for page in range(4)] == [0, 0, 0, 0]
    with pytest.raises(wasmtime.Trap, match="out of bounds"):
        f["load"](store, 4 * PAGE)
    store.close()


def test_the_kept_mappings_are_bounded_and_can_be_released(module):
    stores = [instance(module)[0] for _ in range(_memory.POOL_MAX + 5)]
    live = _memory.live_memories()
    for store in stores:
        store.close()
    assert _memory.live_memories() == live - len(stores)
    assert _memory._pooled == _memory.POOL_MAX  # the others were unmapped
    assert _memory.release_pool() == _memory.POOL_MAX and _memory._pooled == 0


def test_a_memory_that_grew_large_is_not_kept(module):
    store, _, f = instance(module, cap=2 * _memory.POOL_RW_MAX)
    assert f["grow"](store, _memory.POOL_RW_MAX // PAGE) == 1  # one page more than POOL_RW_MAX
    store.close()
    assert _memory._pooled == 0
