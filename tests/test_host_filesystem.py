"""`theater:simple/filesystem`: the world's simulated disk, Theater's path resolution and
error texts, and confinement to the actor's folder."""

from __future__ import annotations

import pytest

from conftest import ACTORS
from theater_harness import Runtime
from theater_harness.host import HOST_FUNCTIONS
from theater_harness.host import filesystem as fs_host
from theater_harness.limits import LimitExceeded
from theater_harness.world import World

F = fs_host.FUNCTIONS
DENIED = 'Permission denied: Path \'{}\' not in allowed paths: ["/app"]'
PARENT_DENIED = 'Permission denied: Parent directory \'{}\' not in allowed paths for creation operation: ["/app"]'
MISSING = "Permission denied: Failed to resolve path '{}': No such file or directory (os error 2)"


def actor_with(rt: Runtime, config: str = 'path = "/app"'):
    """An actor (the counter component) whose manifest declares a filesystem handler."""
    text = (f'name = "fs"\ncomponent = "{ACTORS / "counter.wasm"}"\n[[handler]]\ntype = "runtime"\n'
            f'[[handler]]\ntype = "filesystem"\n{config}\n')
    return rt._resolve(rt.spawn(text))


@pytest.fixture
def disk() -> Runtime:
    return Runtime(seed=1, world=World(files={"app/config.json": '{"a": 1}', "app/sub/deep.txt": "deep",
                                              "app/empty/": None, "app2/x": "next door", "secret.txt": "no"}))


@pytest.fixture
def a(disk):
    return actor_with(disk)


def test_registered_with_the_host():
    assert HOST_FUNCTIONS["filesystem"] is F
    assert list(F) == ["read-file", "write-file", "list-files", "delete-file", "create-dir", "delete-dir",
                       "path-exists", "execute-command", "execute-nix-command"]


def test_read_write_list(disk, a):
    assert F["read-file"](disk, a, "config.json") == (True, b'{"a": 1}')
    assert F["write-file"](disk, a, "sub/new.txt", "héllo") == (True, None)
    assert F["read-file"](disk, a, "sub/new.txt") == (True, "héllo".encode())
    assert F["write-file"](disk, a, "config.json", "{}") == (True, None)  # replaces
    assert F["list-files"](disk, a, "") == (True, ["config.json", "empty", "sub"])
    assert F["list-files"](disk, a, "sub") == (True, ["deep.txt", "new.txt"])
    assert F["list-files"](disk, a, "./sub/") == (True, ["deep.txt", "new.txt"])
    assert disk.world.read("app/config.json") == b"{}"


def test_folders_are_made_and_removed(disk, a):
    assert F["create-dir"](disk, a, "logs") == (True, None)
    assert F["create-dir"](disk, a, "logs") == (False, "File exists (os error 17)")
    assert F["write-file"](disk, a, "logs/1.txt", "one") == (True, None)
    assert F["delete-dir"](disk, a, "logs") == (True, None)  # with what it holds, as remove_dir_all
    assert F["delete-file"](disk, a, "sub/deep.txt") == (True, None)
    assert disk.world.files() == {"app/config.json": b'{"a": 1}', "app2/x": b"next door", "secret.txt": b"no"}
    assert disk.world.disk_bytes == len(b'{"a": 1}') + len(b"next door") + len(b"no")


@pytest.mark.parametrize("function, args, error", [
    ("read-file", ("nope.txt",), MISSING.format("/app/nope.txt")),
    ("read-file", ("sub",), "Is a directory (os error 21)"),
    ("read-file", ("config.json/",), "Permission denied: Failed to resolve path '/app/config.json/': "
                                     "Not a directory (os error 20)"),
    ("list-files", ("config.json",), "Not a directory (os error 20)"),
    ("delete-file", ("sub",), "Is a directory (os error 21)"),
    ("delete-dir", ("config.json",), "Not a directory (os error 20)"),
    ("write-file", ("sub", "x"), "Is a directory (os error 21)"),
    ("write-file", ("config.json/x", "x"), "Not a directory (os error 20)"),
    ("write-file", ("no/such/x", "x"), "Permission denied: Failed to resolve parent directory '/app/no/such' for "
                                       "creation operation: No such file or directory (os error 2)"),
    ("create-dir", ("sub/..", ), "Permission denied: Cannot determine target name for create-dir operation on "
                                 "path 'sub/..'"),
    ("read-file", ("a\0b",), "Permission denied: Failed to resolve path '/app/a\0b': file name contained an "
                             "unexpected NUL byte"),
])
def test_errors_are_theaters(disk, a, function, args, error):
    assert F[function](disk, a, *args) == (False, error)


def test_path_exists_of_a_missing_path_is_an_error_as_in_theater(disk, a):
    assert F["path-exists"](disk, a, "sub/deep.txt") == (True, True)
    assert F["path-exists"](disk, a, "nope") == (False, MISSING.format("/app/nope"))


@pytest.mark.parametrize("path, error", [
    ("../secret.txt", DENIED.format("/secret.txt")),
    ("/secret.txt", DENIED.format("/secret.txt")),
    ("sub/../../secret.txt", DENIED.format("/secret.txt")),
    ("../app2/x", DENIED.format("/app2/x")),  # a neighbour whose name starts with the folder's
    ("//app/../app2/x", DENIED.format("/app2/x")),
    ("./../../../../secret.txt", DENIED.format("/secret.txt")),
    ("..", DENIED.format("/")),
    ("/", DENIED.format("/")),
    ("../etc/passwd", MISSING.format("/app/../etc/passwd")),  # not on the simulated disk at all
    ("/etc/passwd", MISSING.format("/etc/passwd")),
])
def test_a_path_outside_the_folder_is_always_an_error(disk, a, path, error):
    assert F["read-file"](disk, a, path) == (False, error)
    assert F["list-files"](disk, a, path)[0] is False
    assert F["delete-file"](disk, a, path)[0] is False
    assert F["delete-dir"](disk, a, path)[0] is False
    assert F["path-exists"](disk, a, path)[0] is False
    assert disk.world.files()["secret.txt"] == b"no" and disk.world.read("app2/x") == b"next door"


@pytest.mark.parametrize("path, parent", [("../evil.txt", "/"), ("/evil.txt", "/"), ("sub/../../app2/evil", "/app2"),
                                          ("/app2/evil", "/app2")])
def test_nothing_is_created_outside_the_folder(disk, a, path, parent):
    assert F["write-file"](disk, a, path, "x") == (False, PARENT_DENIED.format(parent))
    assert F["create-dir"](disk, a, path) == (False, PARENT_DENIED.format(parent))
    assert "evil" not in "".join(disk.world.files())


def test_an_absolute_path_inside_the_folder_is_fine(disk, a):
    assert F["read-file"](disk, a, "/app/sub/deep.txt") == (True, b"deep")
    assert F["read-file"](disk, a, "sub/../config.json") == (True, b'{"a": 1}')


def test_a_missing_folder_makes_every_path_missing():
    rt = Runtime(seed=1)
    a = actor_with(rt, 'path = "data"')
    assert F["write-file"](rt, a, "x", "1") == (False, "Permission denied: Failed to resolve parent directory "
                                                      "'/data' for creation operation: No such file or directory "
                                                      "(os error 2)")


def test_without_a_folder_every_call_says_what_to_add():
    rt = Runtime(seed=1)
    a = actor_with(rt, "")
    ok, error = F["read-file"](rt, a, "x")
    assert not ok and error.endswith(': [[handler]] type = "filesystem" gives no folder: add '
                                     'path = "<a folder of the world\'s disk>" or new_dir = true')


def test_new_dir_is_a_fresh_folder_for_each_incarnation():
    rt = Runtime(seed=1)
    a = actor_with(rt, "new_dir = true")
    assert F["write-file"](rt, a, "x", "1") == (True, None)
    first = list(rt.world.files())
    assert len(first) == 1 and first[0].startswith("tmp/theater/") and first[0].endswith("/x")
    a.incarnation += 1  # as a restart makes it
    assert F["list-files"](rt, a, ".") == (True, [])


def test_commands_never_run(disk, a):
    nix_args = ["flake", "init"]
    assert F["execute-command"](disk, a, ".", "ls", ["-l"]) == (True, ("error", {"message": "Command not allowed"}))
    assert F["execute-command"](disk, a, ".", "nix", ["build"]) == (True, ("error", {"message": "Args not allowed"}))
    assert F["execute-command"](disk, a, ".", "nix", nix_args) == (
        False, "theater-harness runs no commands: `nix flake init` was not run (the simulated world has no processes)")
    assert F["execute-nix-command"](disk, a, ".", "cargo build") == (True, ("error", {"message": "Args not allowed"}))
    assert F["execute-command"](disk, a, "..", "nix", nix_args) == (False, DENIED.format("/"))
    b = actor_with(disk, 'path = "/app"\nallowed_commands = ["git"]')
    assert F["execute-command"](disk, b, ".", "nix", nix_args) == (False, "Command 'nix' not in allowed list")


def test_the_disk_is_bounded(disk, a, monkeypatch):
    monkeypatch.setattr(fs_host, "MAX_DISK_BYTES", disk.world.disk_bytes + 3)
    assert F["write-file"](disk, a, "a", "abc") == (True, None)
    assert F["write-file"](disk, a, "b", "d") == (False, "No space left on device (os error 28)")
    assert F["write-file"](disk, a, "a", "") == (True, None)  # a rewrite gives its bytes back
    assert F["write-file"](disk, a, "b", "def") == (True, None)


def test_what_an_actor_writes_counts_as_a_message():
    rt = Runtime(seed=1, max_message_bytes=4, world=World(files={"app/": None}))
    a = actor_with(rt)
    assert F["write-file"](rt, a, "x", "1234") == (True, None)
    with pytest.raises(LimitExceeded, match="filesystem.write-file"):
        F["write-file"](rt, a, "x", "12345")


def test_calls_are_recorded_as_world_records(disk, a):
    F["read-file"](disk, a, "../secret.txt")
    record = [r for r in disk.trace.dicts() if r["kind"] == "world"][-1]
    assert record == {"seq": record["seq"], "t": 0, "kind": "world", "actor": a.id, "interface": "filesystem",
                      "function": "read-file", "args": ["../secret.txt"], "outcome": "err",
                      "result": DENIED.format("/secret.txt")[:64] + f"... ({len(DENIED.format('/secret.txt'))} chars)",
                      "latency_ms": 0}


def test_manifest_config_is_checked():
    from theater_harness.errors import ManifestError
    from theater_harness.manifest import parse_manifest
    with pytest.raises(ManifestError, match=r"handler\[0\].allowed_commands': expected an array of strings"):
        parse_manifest('name = "a"\ncomponent = "a.wasm"\n[[handler]]\ntype = "filesystem"\nallowed_commands = "ls"\n')
    with pytest.raises(ManifestError, match=r"handler\[0\].new_dir': expected a boolean"):
        parse_manifest('name = "a"\ncomponent = "a.wasm"\n[[handler]]\ntype = "filesystem"\nnew_dir = 1\n')
