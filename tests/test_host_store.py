"""`theater:simple/store`: content-addressed stores with labels, kept in the runtime,
deterministic ids, Theater's semantics, and bounded."""

from __future__ import annotations

import hashlib

import pytest

from conftest import ACTORS, manifest
from theater_harness import Runtime
from theater_harness.host import HOST_FUNCTIONS
from theater_harness.host import store as store_host
from theater_harness.limits import LimitExceeded
from theater_harness.wasm._wit import HOST_NAMES
from theater_harness.world import World

F = store_host.FUNCTIONS


def sha(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # Theater's ContentRef


def probe_actor(rt: Runtime):
    return rt._resolve(rt.probe("p").id)


def store_manifest(store_id: str | None = None, name: str = "keeper") -> str:
    """The counter actor with a store handler (``store_id`` configured if given)."""
    config = f'store_id = "{store_id}"\nbase_path = "/ignored"\n' if store_id is not None else ""
    return (f'name = "{name}"\nversion = "0.1.0"\npackage = "{ACTORS / "counter.wasm"}"\n\n'
            f'[[handler]]\ntype = "runtime"\n\n[[handler]]\ntype = "store"\n{config}')


def test_registered_with_the_host():
    assert HOST_FUNCTIONS["store"] is F
    packr = ["new", "store", "get", "exists", "label", "get-by-label", "remove-label", "store-at-label",
             "replace-content-at-label", "replace-at-label", "list-all-content", "calculate-total-size", "list-labels"]
    assert list(F) == packr + list(HOST_NAMES.values())  # then the component era's with record refs
    assert set(HOST_NAMES) == {("store", name) for name in packr if name not in (
        "new", "remove-label", "calculate-total-size", "list-labels")} | {("store", "remove-from-label")}


def test_store_get_exists_and_refs_are_sha1_hex(rt):
    a = probe_actor(rt)
    ok, sid = F["new"](rt, a)
    assert ok and sid in rt.stores and rt.stores[sid].id == sid
    assert F["store"](rt, a, sid, b"hello") == (True, sha(b"hello"))
    assert F["get"](rt, a, sid, sha(b"hello")) == (True, b"hello")
    assert F["exists"](rt, a, sid, sha(b"hello")) == (True, True)
    assert F["exists"](rt, a, sid, sha(b"other")) == (True, False)
    assert F["get"](rt, a, sid, sha(b"other")) == (False, f"Content does not exist: {sha(b'other')}")
    assert F["store"](rt, a, sid, bytearray(b"")) == (True, sha(b""))
    assert F["get"](rt, a, sid, sha(b"")) == (True, b"")


def test_the_same_content_is_kept_once(rt):
    a = probe_actor(rt)
    _, sid = F["new"](rt, a)
    for _ in range(3):
        assert F["store"](rt, a, sid, b"abc") == (True, sha(b"abc"))
    assert F["store"](rt, a, sid, b"defgh") == (True, sha(b"defgh"))
    assert F["list-all-content"](rt, a, sid) == (True, sorted([sha(b"abc"), sha(b"defgh")]))
    assert F["calculate-total-size"](rt, a, sid) == (True, 8)


def test_labels(rt):
    a = probe_actor(rt)
    _, sid = F["new"](rt, a)
    one, two = sha(b"one"), sha(b"two")
    assert F["label"](rt, a, sid, "x", one) == (False, f"Content does not exist: {one}")
    assert F["get-by-label"](rt, a, sid, "x") == (True, None)
    F["store"](rt, a, sid, b"one")
    assert F["label"](rt, a, sid, "x", one) == (True, None)
    assert F["get-by-label"](rt, a, sid, "x") == (True, one)
    assert F["replace-at-label"](rt, a, sid, "x", two) == (False, f"Content does not exist: {two}")
    assert F["store-at-label"](rt, a, sid, "y", b"two") == (True, two)
    assert F["replace-at-label"](rt, a, sid, "x", two) == (True, None)
    assert F["get-by-label"](rt, a, sid, "x") == (True, two)
    assert F["label"](rt, a, sid, "x", one) == (True, None)  # label points it elsewhere too
    assert F["replace-content-at-label"](rt, a, sid, "z", b"three") == (True, sha(b"three"))
    assert F["replace-content-at-label"](rt, a, sid, "z", b"one") == (True, one)
    assert F["list-labels"](rt, a, sid) == (True, ["x", "y", "z"])
    assert F["remove-label"](rt, a, sid, "y") == (True, None)
    assert F["remove-label"](rt, a, sid, "y") == (True, None)  # not there: not an error (as in Theater)
    assert F["get-by-label"](rt, a, sid, "y") == (True, None)
    assert F["get"](rt, a, sid, two) == (True, b"two")  # removing a label keeps its content
    assert F["list-labels"](rt, a, sid) == (True, ["x", "z"])
    assert F["list-all-content"](rt, a, sid) == (True, sorted([one, two, sha(b"three")]))


def test_listings_are_sorted_not_in_the_order_stored(rt):
    a = probe_actor(rt)
    _, sid = F["new"](rt, a)
    for label in ("b", "é", "A", "a/b", "10", "9"):
        F["store-at-label"](rt, a, sid, label, label.encode())
    assert F["list-labels"](rt, a, sid) == (True, ["10", "9", "A", "a/b", "b", "é"])
    refs = F["list-all-content"](rt, a, sid)[1]
    assert refs == sorted(refs) and len(refs) == 6


def test_empty_and_long_names_are_errors(rt):
    a = probe_actor(rt)
    _, sid = F["new"](rt, a)
    ref = F["store"](rt, a, sid, b"x")[1]
    assert F["label"](rt, a, sid, "", ref) == (False, "a label cannot be empty")
    assert F["store-at-label"](rt, a, sid, "", b"y") == (False, "a label cannot be empty")
    assert F["label"](rt, a, sid, "l" * 4097, ref) == (False, "a label is at most 4096 bytes, got 4097")
    assert F["store"](rt, a, "", b"y") == (False, "a store id cannot be empty")
    assert F["store"](rt, a, "s" * 4097, b"y") == (False, "a store id is at most 4096 bytes, got 4097")
    assert F["list-labels"](rt, a, sid) == (True, [])


def test_any_id_names_a_store_empty_until_written(rt):
    a = probe_actor(rt)
    assert F["list-all-content"](rt, a, "mine") == (True, [])
    assert F["list-labels"](rt, a, "mine") == (True, [])
    assert F["calculate-total-size"](rt, a, "mine") == (True, 0)
    assert F["get-by-label"](rt, a, "mine", "x") == (True, None)
    assert F["exists"](rt, a, "mine", sha(b"x")) == (True, False)
    assert F["remove-label"](rt, a, "mine", "x") == (True, None)
    assert "mine" not in store_host.stores_of(rt)  # reads make nothing
    assert F["store"](rt, a, "mine", b"x") == (True, sha(b"x"))
    assert F["list-all-content"](rt, a, "mine") == (True, [sha(b"x")])


def test_stores_are_separate(rt):
    a = probe_actor(rt)
    _, s1 = F["new"](rt, a)
    _, s2 = F["new"](rt, a)
    assert s1 != s2
    F["store-at-label"](rt, a, s1, "k", b"v")
    assert F["exists"](rt, a, s2, sha(b"v")) == (True, False)
    assert F["get-by-label"](rt, a, s2, "k") == (True, None)


def test_ids_are_deterministic_and_do_not_shift_other_ids():
    def ids(make_stores: bool) -> tuple[list[str], str]:
        rt = Runtime(seed=5)
        a = probe_actor(rt)
        stores = [F["new"](rt, a)[1] for _ in range(3)] if make_stores else []
        return stores, rt.spawn(manifest("counter"))

    with_stores, spawned = ids(True)
    assert ids(True) == (with_stores, spawned)
    assert ids(False)[1] == spawned  # the store-ids stream is its own
    assert len(set(with_stores)) == 3 and all(len(s) == 36 for s in with_stores)
    other = Runtime(seed=6)
    assert F["new"](other, probe_actor(other))[1] != with_stores[0]


def test_a_configured_store_id_is_what_new_returns_and_actors_share_it(rt):
    first = rt._resolve(rt.spawn(store_manifest("shared"), name="first"))
    second = rt._resolve(rt.spawn(store_manifest("shared"), name="second"))
    plain = rt._resolve(rt.spawn(store_manifest(), name="plain"))
    assert F["new"](rt, first) == (True, "shared")
    assert F["store-at-label"](rt, first, "shared", "greeting", b"hi") == (True, sha(b"hi"))
    assert F["new"](rt, second) == (True, "shared")
    assert F["get-by-label"](rt, second, "shared", "greeting") == (True, sha(b"hi"))
    ok, own = F["new"](rt, plain)
    assert ok and own != "shared"
    assert list(rt.stores) == ["shared", own]


def test_stores_outlive_incarnations(rt):
    actor_id = rt.spawn(store_manifest("kept"))
    actor = rt._resolve(actor_id)
    _, sid = F["new"](rt, actor)
    _, fresh = F["new"](rt, probe_actor(rt))
    F["store-at-label"](rt, actor, sid, "state", b"42")
    F["store"](rt, actor, fresh, b"also")
    rt.stop(actor_id)
    rt.restart_actor(actor)
    rt.run_until_idle()
    assert actor.incarnation == 2 and actor.status == "running"
    assert F["new"](rt, actor) == (True, "kept")
    assert F["get-by-label"](rt, actor, "kept", "state") == (True, sha(b"42"))
    assert F["get"](rt, actor, fresh, sha(b"also")) == (True, b"also")


def test_content_an_actor_hands_over_counts_as_a_message():
    rt = Runtime(seed=1, max_message_bytes=10, max_sent_bytes=15)
    actor = rt._resolve(rt.spawn(store_manifest()))
    _, sid = F["new"](rt, actor)
    with pytest.raises(LimitExceeded, match=r"^store\.store: 11 bytes in one message, more than "
                                            r"max_message_bytes 10$"):
        F["store"](rt, actor, sid, b"x" * 11)
    actor.call_usage = None  # a new call
    assert F["store"](rt, actor, sid, b"x" * 10) == (True, sha(b"x" * 10))
    with pytest.raises(LimitExceeded, match=r"^store\.store-at-label: 16 bytes sent in one call, more than "
                                            r"max_sent_bytes 15$"):
        F["store-at-label"](rt, actor, sid, "lab", b"y" * 3)  # 10 + 3 + 3 (the label)
    probe = probe_actor(rt)  # probes are not bounded
    assert F["store"](rt, probe, sid, b"z" * 100) == (True, sha(b"z" * 100))


def test_what_the_stores_hold_is_bounded(rt, monkeypatch):
    monkeypatch.setattr(store_host, "MAX_STORE_BYTES", 10)
    a = probe_actor(rt)
    _, sid = F["new"](rt, a)
    assert F["store"](rt, a, sid, b"12345678") == (True, sha(b"12345678"))
    assert F["store"](rt, a, sid, b"12345678") == (True, sha(b"12345678"))  # already there: no more room needed
    assert F["store"](rt, a, sid, b"abc") == (False, "the stores are full: they hold 8 bytes, and 3 more would "
                                                     "pass 10, the most a run's stores may hold")
    assert F["label"](rt, a, sid, "ab", sha(b"12345678")) == (True, None)  # a label's bytes count too
    assert F["label"](rt, a, sid, "c", sha(b"12345678")) == (False, "the stores are full: they hold 10 bytes, "
                                                                    "and 1 more would pass 10, the most a run's "
                                                                    "stores may hold")
    assert F["label"](rt, a, sid, "ab", sha(b"12345678")) == (True, None)  # re-pointing it: no more room
    assert F["remove-label"](rt, a, sid, "ab") == (True, None)
    assert F["label"](rt, a, sid, "c", sha(b"12345678")) == (True, None)
    assert (rt.stores.held, rt.stores.entries) == (9, 2)


def test_the_number_of_stores_and_entries_is_bounded(rt, monkeypatch):
    monkeypatch.setattr(store_host, "MAX_STORES", 2)
    monkeypatch.setattr(store_host, "MAX_STORE_ENTRIES", 3)
    a = probe_actor(rt)
    _, s1 = F["new"](rt, a)
    _, s2 = F["new"](rt, a)
    assert F["new"](rt, a) == (False, "the run already has 2 stores, the most it may have")
    assert F["store"](rt, a, "third", b"x") == (False, "the run already has 2 stores, the most it may have")
    F["store"](rt, a, s1, b"a")
    F["store"](rt, a, s2, b"b")
    F["label"](rt, a, s1, "l", sha(b"a"))
    assert F["store"](rt, a, s2, b"c") == (False, "the stores are full: they hold 3 contents and labels, the most "
                                                  "a run's stores may hold")


def test_packr_values_are_taken_as_plain_ones(rt):
    values = pytest.importorskip("theater_harness.values")
    Bytes, String = values.Bytes, values.String
    a = probe_actor(rt)
    _, sid = F["new"](rt, a)
    assert F["store-at-label"](rt, a, String(sid), String("k"), Bytes(b"v")) == (True, sha(b"v"))
    [label] = F["list-labels"](rt, a, sid)[1]
    content = F["get"](rt, a, String(sid), String(sha(b"v")))[1]
    assert (type(label), type(content), content) == (str, bytes, b"v")


# --- the component era: content refs are records, and remove-from-label --------------------------

def C(name: str):
    """A component-era store function (content refs as records ``{hash: string}``)."""
    return F[HOST_NAMES.get(("store", name), name)]


def test_component_era_refs_are_records(rt):
    a = probe_actor(rt)
    _, sid = C("new")(rt, a)
    ref = {"hash": sha(b"hello")}
    assert C("store")(rt, a, sid, b"hello") == (True, ref)
    assert C("get")(rt, a, sid, ref) == (True, b"hello")
    assert C("exists")(rt, a, sid, {"hash": sha(b"x")}) == (True, False)
    assert C("get")(rt, a, sid, {"hash": "0" * 40}) == (False, "Content does not exist: " + "0" * 40)
    assert C("label")(rt, a, sid, "greeting", ref) == (True, None)
    assert C("get-by-label")(rt, a, sid, "greeting") == (True, ref)
    assert C("get-by-label")(rt, a, sid, "nothing") == (True, None)
    assert C("store-at-label")(rt, a, sid, "other", b"bye") == (True, {"hash": sha(b"bye")})
    assert C("replace-content-at-label")(rt, a, sid, "other", b"ciao") == (True, {"hash": sha(b"ciao")})
    assert C("replace-at-label")(rt, a, sid, "other", ref) == (True, None)
    assert C("list-all-content")(rt, a, sid) == (True, [{"hash": h} for h in sorted(
        [sha(b"hello"), sha(b"bye"), sha(b"ciao")])])
    assert C("list-labels")(rt, a, sid) == (True, ["greeting", "other"])
    assert C("calculate-total-size")(rt, a, sid) == (True, 12)


def test_remove_from_label_removes_it_only_where_it_points_there(rt):
    a = probe_actor(rt)
    _, sid = C("new")(rt, a)
    _, ref = C("store-at-label")(rt, a, sid, "l", b"one")
    assert C("remove-from-label")(rt, a, sid, "l", {"hash": sha(b"two")}) == (True, None)
    assert C("get-by-label")(rt, a, sid, "l") == (True, ref)
    assert C("remove-from-label")(rt, a, sid, "l", ref) == (True, None)
    assert C("get-by-label")(rt, a, sid, "l") == (True, None)
    assert C("remove-from-label")(rt, a, sid, "l", ref) == (True, None)  # no label: nothing to do
    assert C("remove-from-label")(rt, a, "never-made", "l", ref) == (True, None)
    assert (rt.stores.held, rt.stores.entries) == (3, 1)  # the content stays


def test_both_eras_calls_are_world_records(rt):
    a = probe_actor(rt)
    F["store"](rt, a, "s", b"x")
    C("store")(rt, a, "s", b"x")
    C("get")(rt, a, "s", {"hash": "0" * 40})
    records = [(r["function"], r["args"], r["outcome"], r["result"]) for r in rt.trace.dicts() if r["kind"] == "world"]
    assert records == [("store", ["s", "b'x'"], "ok", sha(b"x")), ("store", ["s", "b'x'"], "ok", {"hash": sha(b"x")}),
                       ("get", ["s", {"hash": "0" * 40}], "err", "Content does not exist: " + "0" * 40)]


def test_a_worlds_stores_hold_their_content_from_the_start():
    rt = Runtime(seed=1, world=World(stores={"shared": {"motd": "hi", "other": b"hi"}}))
    a = probe_actor(rt)
    assert F["get-by-label"](rt, a, "shared", "motd") == (True, sha(b"hi"))
    assert F["list-all-content"](rt, a, "shared") == (True, [sha(b"hi")])
    assert [r for r in rt.trace.dicts() if r["kind"] == "world"] == [
        r for r in rt.trace.dicts() if r["kind"] == "world" and r["function"] in ("get-by-label", "list-all-content")]
