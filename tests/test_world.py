"""The outside world: what a test gives (``World``), each run's own copy of it, the one
choke point every world call passes (trace records of kind ``world``), determinism, and
the world actor under supervision."""

from __future__ import annotations

import builtins
import io
import os
import socket

import pytest

from conftest import ACTORS, manifest
from test_supervision import supervisor
from theater_harness import Runtime
from theater_harness.host import world_calls
from theater_harness.schema.trace import check_records
from theater_harness.errors import TraceFileError
from theater_harness.world import Request, Response, Route, World, WorldError

CONFIG = "https://api.example.com/sync\n"


def world(**changes) -> World:
    """The world of the world_user example (its folder, a token, one service)."""
    given = dict(files={"srv/world_user/config.txt": CONFIG}, env={"API_TOKEN": "t0k"},
                 http={"POST https://api.example.com/sync": {"status": 201, "body": "synced", "latency_ms": 40},
                       "GET https://api.example.com/*": "hello"})
    given.update(changes)
    return World(**given)


def ask(rt: Runtime, actor: str, question: str) -> bytes:
    pending = rt.request(actor, question)
    rt.run_until_idle()
    assert pending.ok, pending.error
    return pending.reply


def world_records(rt: Runtime) -> list[tuple]:
    return [(r["t"], r["interface"], r["function"], r["outcome"], r["latency_ms"])
            for r in rt.trace.dicts() if r["kind"] == "world"]


# --- what a test gives ----------------------------------------------------------------------

def test_a_world_keeps_what_it_was_given_normalised():
    w = World(files={"/app/a.txt": "hé", "app/b.bin": b"\x00\x01", "logs/": None}, env={"MODE": "test"},
              http={"GET https://x/*": 404, "* https://y/": {"body": "ok", "headers": {"X-A": "1"}, "latency_ms": 5}},
              stores={"s": {"motd": "hi"}})
    assert w.files == {"app/a.txt": "hé".encode(), "app/b.bin": b"\x00\x01", "logs/": None}
    assert w.env == {"MODE": "test"}
    assert w.routes == (Route("GET", "https://x/*", Response(404)),
                        Route("*", "https://y/", Response(200, (("X-A", "1"),), b"ok", 5)))
    assert w.stores == {"s": {"motd": b"hi"}}


@pytest.mark.parametrize("kwargs, field, message", [
    (dict(files=["a"]), "files", "expected a dict of paths to bytes or str (None for an empty folder 'name/'), got list"),
    (dict(files={"a/../b": b""}), "files['a/../b']", "expected a path from the disk's root such as 'app/config.json' "
                                                     "(no empty, '.' or '..' parts)"),
    (dict(files={"": b""}), "files['']", "expected a path from the disk's root"),
    (dict(files={"a": 3}), "files['a']", "expected bytes or str, got int"),
    (dict(files={"d/": b"x"}), "files['d/']", "a key ending in '/' is an empty folder: give it the value None"),
    (dict(files={"a": b"", "a/b": b""}), "files", "'a' is a file, so it cannot hold 'a/b'"),
    (dict(files={"a/b": b"", "a": b""}), "files", "'a' is given both as a file and as a folder"),
    (dict(env={"A": 1}), "env['A']", "expected a string without NUL, got int"),
    (dict(env={"A=B": "x"}), "env", "expected a non-empty name without '=' or NUL, got 'A=B'"),
    (dict(http={"get https://x": 200}), "http", 'expected "METHOD URL-pattern" (e.g. "GET https://api.example.com/'
                                                'items/*"; METHOD in capitals, or * for any), got \'get https://x\''),
    (dict(http={"GET https://x": 99}), "http['GET https://x'].status", "expected an HTTP status from 100 to 999, got 99"),
    (dict(http={"GET https://x": {"code": 200}}), "http['GET https://x']",
     "unknown key 'code'; a response has status, headers, body, latency_ms"),
    (dict(http={"GET https://x": {"latency_ms": -1}}), "http['GET https://x'].latency_ms",
     "expected virtual milliseconds (an integer >= 0), got -1"),
    (dict(http={"GET https://x": {"headers": [("a",)]}}), "http['GET https://x'].headers",
     "expected a dict of header names to values, or a list of (name, value) string pairs"),
    (dict(http={"GET https://x": 2.5}), "http['GET https://x']", "expected a response: a Response, a dict with status, "
                                                                 "headers, body, latency_ms, a status code or a body"),
    (dict(stores={"s": {"l": 1}}), "stores['s']['l']", "expected bytes or str, got int"),
    (dict(stores={"": {}}), "stores", "expected a store id (a non-empty string), got ''"),
])
def test_bad_world_input_names_the_key_and_what_is_valid(kwargs, field, message):
    with pytest.raises(WorldError) as info:
        World(**kwargs)
    assert info.value.field == field
    assert message in info.value.reason


def test_a_world_is_given_as_a_world():
    with pytest.raises(TypeError, match="world must be a theater_harness.world.World, not dict"):
        Runtime(world={"files": {}})


def test_from_folder_copies_a_real_folder_once(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.toml").write_text("x = 1")
    (tmp_path / "empty").mkdir()
    w = World.from_folder(tmp_path, env={"A": "b"}, files={"extra.txt": "e"})
    assert w.files == {"conf/": None, "conf/app.toml": b"x = 1", "empty/": None, "extra.txt": b"e"}
    assert w.env == {"A": "b"}


def test_from_folder_refuses_links_and_non_folders(tmp_path):
    (tmp_path / "target").write_text("secret")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(WorldError, match="'link' is a symbolic link; the simulated disk holds only files and folders"):
        World.from_folder(tmp_path)
    with pytest.raises(WorldError, match="is not a folder"):
        World.from_folder(tmp_path / "target")


# --- each run's own copy -------------------------------------------------------------------------

def test_every_run_starts_from_the_world_as_given():
    given = world()
    first = Runtime(seed=1, world=given)
    actor = first.spawn(manifest("world_user"))
    assert ask(first, actor, "save:notes.txt:one") == b"ok"
    first.send(actor, "visit")
    first.run_until_idle()
    assert first.world.read("srv/world_user/notes.txt") == b"one"
    second = Runtime(seed=1, world=given)
    assert second.world.files() == {"srv/world_user/config.txt": CONFIG.encode()}
    assert "world-user" not in second.world.stores
    assert given.files == {"srv/world_user/config.txt": CONFIG.encode()}


def test_a_runtime_without_a_world_has_an_empty_one():
    rt = Runtime(seed=1)
    assert rt.world.files() == {} and rt.world.env == {} and rt.world.exchanges == []


def test_the_worlds_stores_are_filled_before_the_run():
    rt = Runtime(seed=1, world=World(stores={"world-user": {"visits": "41"}}))
    actor = rt.spawn(manifest("world_user"))
    rt.run_until_idle()
    assert rt.actor(actor).logs[-1] == "world_user: 41 visits stored"


# --- the choke point --------------------------------------------------------------------------------

def test_every_world_call_is_one_record_with_its_latency():
    rt = Runtime(seed=1, world=world())
    actor = rt.spawn(manifest("world_user"))
    rt.run_until_idle()
    assert ask(rt, actor, "sync") == b"201 synced"
    assert world_records(rt) == [
        (0, "store", "new", "ok", 0), (0, "store", "get-by-label", "ok", 0),
        (0, "filesystem", "read-file", "ok", 0), (0, "environment", "get-var", "ok", 0),
        (0, "http-client", "send-http", "ok", 40), (40, "store", "store-at-label", "ok", 0)]
    sent = [r for r in rt.trace.dicts() if r["kind"] == "world" and r["function"] == "send-http"][0]
    assert sent["args"] == [{"method": "POST", "uri": "https://api.example.com/sync",
                             "headers": [["authorization", "Bearer t0k"]], "body": "b'0'"}]
    assert sent["result"] == {"status": 201, "headers": [], "body": "b'synced'"}
    check_records(rt.trace.dicts(), "<trace>")


def test_summaries_are_bounded():
    assert world_calls.summary("x" * 100) == "x" * 64 + "... (100 chars)"
    assert world_calls.summary(b"\x00" * 65) == repr(b"\x00" * 64) + "... (65 bytes)"
    assert world_calls.summary(list(range(10))) == [0, 1, 2, 3, 4, 5, 6, 7, "... (2 more)"]
    assert world_calls.summary({"a": (1, None, True)}) == {"a": [1, None, True]}


def test_the_fault_hook_is_asked_about_every_call_and_may_answer_in_the_worlds_place(monkeypatch):
    asked = []

    def unavailable(rt, call):
        asked.append((call.interface, call.function))
        if call.function == "store-at-label":
            return lambda c, act: setattr(c, "value", (False, "store unavailable"))
        return None

    monkeypatch.setattr(world_calls, "world_fault", unavailable)
    rt = Runtime(seed=1, world=world())
    actor = rt.spawn(manifest("world_user"))
    rt.send(actor, "visit")
    rt.run_until_idle()
    assert asked == [("store", "new"), ("store", "get-by-label"), ("store", "store-at-label")]
    assert rt.actor(actor).exit_reason.message.endswith("world_user: store unavailable")
    assert rt.world.stores["world-user"].labels == {}  # the world never acted
    assert world_records(rt)[-1] == (0, "store", "store-at-label", "err", 0)


def test_world_records_are_checked_by_the_trace_schema():
    record = {"t": 0, "kind": "world", "interface": "store", "function": "get", "outcome": "maybe", "latency_ms": 0}
    with pytest.raises(TraceFileError, match=r"records\[0\].outcome.*expected one of ok, err, got 'maybe'"):
        check_records([record], "<t>")
    with pytest.raises(TraceFileError, match=r"records\[0\].latency_ms': missing"):
        check_records([{"t": 0, "kind": "world", "interface": "s", "function": "g", "outcome": "ok"}], "<t>")


# --- determinism ------------------------------------------------------------------------------------

def workload(seed: int) -> Runtime:
    rt = Runtime(seed=seed, world=world())
    actor = rt.spawn(manifest("world_user"))
    for question in ("visit", "visit"):
        rt.send(actor, question)
    rt.run_until_idle()
    for question in ("sync", "fetch:https://api.example.com/a", "fetch:https://nowhere/", "env:API_TOKEN",
                     "save:../escape:x", "config"):
        ask(rt, actor, question)
    return rt


def test_the_same_seed_and_world_give_byte_identical_traces():
    first, second = workload(5).trace.to_json(), workload(5).trace.to_json()
    assert first == second
    assert '"kind":"world"' in first.replace(" ", "")


def test_new_dir_folders_come_from_the_seed():
    text = f'name = "n"\ncomponent = "{ACTORS / "world_user.wasm"}"\n' + "".join(
        f'[[handler]]\ntype = "{t}"\n' for t in ("runtime", "message-server", "store", "environment", "http-client"))
    text += '[[handler]]\ntype = "filesystem"\nnew_dir = true\n'

    def folder(seed: int) -> list[str]:
        rt = Runtime(seed=seed)
        actor = rt.spawn(text)
        ask(rt, actor, "save:x.txt:1")
        return list(rt.world.files())

    assert folder(3) == folder(3) != folder(4)
    assert folder(3)[0].startswith("tmp/theater/") and folder(3)[0].endswith("/x.txt")


# --- under supervision ------------------------------------------------------------------------------

def test_a_restarted_actor_finds_what_it_stored(tmp_path):
    rt = Runtime(seed=1, world=world())
    sup = rt.spawn(supervisor(tmp_path, "intensity = 5\n"))
    actor = rt.spawn(manifest("world_user"), parent=sup)
    for message in ("visit", "visit", "visit", "crash"):
        rt.send(actor, message)
    rt.run_until_idle()
    view = rt.actor(actor)
    assert (view.incarnation, view.alive) == (2, True)
    assert view.logs[-1] == "world_user: 3 visits stored"
    assert ask(rt, actor, "visits") == b"3"
    rt.send(actor, "visit")
    rt.run_until_idle()
    assert ask(rt, actor, "visits") == b"4"


# --- nothing leaves the process -----------------------------------------------------------------------

def test_no_world_call_touches_the_real_disk_or_network(monkeypatch):
    rt = Runtime(seed=1, world=world())
    actor = rt.spawn(manifest("world_user"))  # loading the component reads its file: before the guard
    rt.run_until_idle()

    def forbidden(*args, **kwargs):
        raise AssertionError(f"the run reached outside the process: {args!r}")

    for owner, name in ((builtins, "open"), (io, "open"), (os, "open"), (os, "listdir"), (os, "scandir"),
                        (os, "remove"), (os, "mkdir"), (socket, "socket"), (socket, "create_connection"),
                        (socket, "getaddrinfo")):
        monkeypatch.setattr(owner, name, forbidden)
    for question in ("sync", "config", "save:out.txt:data", "save:/etc/passwd:x", "fetch:https://example.com/",
                     "env:HOME"):
        ask(rt, actor, question)
    rt.send(actor, "visit")
    rt.run_until_idle()
    monkeypatch.undo()
    assert rt.actor(actor).alive
    assert rt.world.read("srv/world_user/out.txt") == b"data"


def test_requests_reach_the_callable_as_plain_data():
    seen = []

    def service(request: Request) -> Response:
        seen.append(request)
        return Response(202, (("Content-Type", "text/plain"),), b"ok:" + (request.body or b""), latency_ms=7)

    rt = Runtime(seed=1, world=world(http=service))
    actor = rt.spawn(manifest("world_user"))
    assert ask(rt, actor, "sync") == b"202 ok:0"
    assert rt.now == 7
    assert seen == [Request("POST", "https://api.example.com/sync", (("authorization", "Bearer t0k"),), b"0")]


def test_a_fork_continues_with_its_own_copy_of_the_world():
    from theater_harness.fork import Checkpoint, fork_problem
    if fork_problem() is not None:
        pytest.skip(fork_problem())
    rt = Runtime(seed=1, world=world())
    actor = rt.spawn(manifest("world_user"))
    rt.send(actor, "visit")
    rt.run_until_idle()

    def branch(forked: Runtime) -> tuple:
        reply = ask(forked, actor, "save:branch.txt:b")
        forked.send(actor, "visit")
        forked.run_until_idle()
        return reply, ask(forked, actor, "visits"), sorted(forked.world.files())

    assert Checkpoint(rt).run(branch) == (b"ok", b"2", ["srv/world_user/branch.txt", "srv/world_user/config.txt"])
    assert ask(rt, actor, "visits") == b"1" and rt.world.read("srv/world_user/branch.txt") is None
