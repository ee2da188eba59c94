"""`theater:simple/filesystem` (component era): files on the world's simulated disk.

The disk is the run's (``rt.world.disk``, seeded from ``World(files=...)``); nothing here
touches the real one. An actor works in the folder its manifest names,
``[[handler]] type = "filesystem"`` with ``path = "..."`` (a folder of the simulated disk:
``/`` is its root, and a relative path is taken from there, as if Theater ran in ``/``),
or, with ``new_dir = true``, a fresh empty folder ``/tmp/theater/<n>`` (``n`` from the run's
seeded stream ``filesystem-new-dir``) made for each incarnation, as Theater makes one each
time it creates the handler.

Paths resolve as Theater's handler resolves them (``crates/deprecated/theater-handler-
filesystem`` @TH, ``resolve_and_validate_path``): the requested path is joined to the folder
(an absolute path replaces it), then canonicalized, which needs every component to exist
(for ``write-file`` and ``create-dir``: the parent folder), so ``..`` is followed on the
disk. The error texts are Theater's (``Permission denied: Failed to resolve path '...':
No such file or directory (os error 2)``, ``Is a directory (os error 21)``, ...), and so is
one quirk: ``path-exists`` of a path that does not exist is that error, not ``false``.

Where the harness differs from Theater, on purpose:

- an actor is confined to its folder: a path that resolves outside it (``..``, an absolute
  path) is ``Permission denied: Path '...' not in allowed paths: ["<folder>"]``, the error
  Theater gives only under a permission policy's ``allowed_paths``;
- ``list-files`` lists names sorted (Theater: in the order the OS reads them);
- ``execute-command`` and ``execute-nix-command`` run nothing. Theater's own checks come
  first and answer as Theater does (``allowed_commands``; then ``error("Command not
  allowed")`` for anything but ``nix``, ``error("Args not allowed")`` for other arguments
  than the two Theater lets through, which is every ``execute-nix-command``); a command
  Theater would run is ``err``, naming why it was not;
- a manifest whose filesystem handler has neither ``path`` nor ``new_dir = true`` makes
  every call an ``err`` saying so (Theater panics creating the handler);
- the disk holds at most ``MAX_DISK_BYTES`` of file content: a write past it is
  ``No space left on device (os error 28)``; what an actor writes counts as a message it
  sends (limits.py).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from .world_calls import charge, world_functions

MAX_DISK_BYTES = 256 << 20
ENOENT = "No such file or directory (os error 2)"
EEXIST = "File exists (os error 17)"
ENOTDIR = "Not a directory (os error 20)"
EISDIR = "Is a directory (os error 21)"
EBUSY = "Device or resource busy (os error 16)"
ENOSPC = "No space left on device (os error 28)"
NUL = "file name contained an unexpected NUL byte"
# The two argument lists Theater's execute_command lets `nix` run with.
NIX_ARGS = (["develop", "--command", "bash", "-c", "cargo component build --target wasm32-unknown-unknown --release"],
            ["flake", "init"])


class _Refused(Exception):
    """A call that ends in ``err`` with this text."""


def _answers(fn: Callable[..., Any]) -> Callable[..., tuple[bool, Any]]:
    """``fn`` with its refusals as ``(False, text)``."""
    def host(rt: Any, actor: Any, *args: Any) -> tuple[bool, Any]:
        try:
            return (True, fn(rt, actor, *args))
        except _Refused as refused:
            return (False, str(refused))
    host.__name__ = fn.__name__
    host.__doc__ = fn.__doc__
    return host


# --- the actor's folder, and paths in it ------------------------------------------------------

def _components(path: str) -> list[str]:
    """A path's components as Rust's ``Path::components`` gives them (no empty or ``.``)."""
    return [p for p in path.split("/") if p not in ("", ".")]


def _normal(path: str) -> list[str]:
    """An absolute path's components with ``..`` applied (no ``..`` above ``/``)."""
    parts: list[str] = []
    for part in _components(path):
        if part != "..":
            parts.append(part)
        elif parts:
            parts.pop()
    return parts


def _show(parts: list[str]) -> str:
    return "/" + "/".join(parts)


def _root(rt: Any, actor: Any) -> list[str]:
    """The components of the actor's folder (for its current incarnation)."""
    key = (actor.id, actor.incarnation)
    root = rt.world.roots.get(key)
    if root is None:
        handler = actor.manifest.handler("filesystem")
        config = handler.config if handler is not None else {}
        if config.get("new_dir") is True:
            root = f"/tmp/theater/{rt.world.stream('filesystem-new-dir').getrandbits(32)}"
            folder = rt.world.disk
            for part in _components(root):
                folder = folder.setdefault(part, {})
                if not isinstance(folder, dict):
                    raise _Refused(f"cannot make the new_dir folder {root}: {ENOTDIR}")
        elif config.get("path") is not None:
            root = _show(_normal("/" + config["path"]))
        else:
            raise _Refused(f'{actor.manifest.source}: [[handler]] type = "filesystem" gives no folder: add '
                           f'path = "<a folder of the world\'s disk>" or new_dir = true')
        rt.world.roots[key] = root
    return _normal(root)


def _canonical(disk: dict, path: str) -> tuple[list[str], Any]:
    """``dunce::canonicalize`` on the simulated disk: the path's components and its entry;
    every component must exist, and each one a path goes on from must be a folder."""
    if "\0" in path:
        raise _Refused(NUL)
    parts: list[str] = []
    entry: Any = disk
    for part in path.split("/")[1:]:
        if not isinstance(entry, dict):
            raise _Refused(ENOTDIR)
        if part in ("", "."):
            continue
        if part == "..":
            parts = parts[:-1]
            entry = _at(disk, parts)
            continue
        entry = entry.get(part)
        if entry is None:
            raise _Refused(ENOENT)
        parts.append(part)
    return parts, entry


def _at(disk: dict, parts: list[str]) -> Any:
    entry: Any = disk
    for part in parts:
        entry = entry[part]
    return entry


def _joined(root: list[str], requested: str) -> str:
    """Rust's ``Path::join``: an absolute path replaces the folder."""
    return requested if requested.startswith("/") else f"{_show(root).rstrip('/')}/{requested}"


def _confined(parts: list[str], root: list[str], what: str) -> None:
    if parts[:len(root)] != root:
        raise _Refused(f"Permission denied: {what} '{_show(parts)}' not in allowed paths"
                       f"{' for creation operation' if what == 'Parent directory' else ''}: "
                       f"{json.dumps([_show(root)], ensure_ascii=False)}")


def _existing(rt: Any, actor: Any, requested: str) -> tuple[list[str], Any]:
    """An existing path of the actor's folder: its components and its entry."""
    root = _root(rt, actor)
    full = _joined(root, requested)
    try:
        parts, entry = _canonical(rt.world.disk, full)
    except _Refused as refused:
        raise _Refused(f"Permission denied: Failed to resolve path '{full}': {refused}") from None
    _confined(parts, root, "Path")
    return parts, entry


def _new(rt: Any, actor: Any, requested: str, operation: str) -> tuple[Any, str]:
    """A path of the actor's folder to create (``write``, ``create-dir``): the entry of its
    folder (which must exist) and its name."""
    root = _root(rt, actor)
    full = _joined(root, requested)
    components = _components(full)
    if not components:
        raise _Refused("Permission denied: Cannot determine parent directory for creation operation")
    parent = _show(components[:-1])
    try:
        parts, folder = _canonical(rt.world.disk, parent)
    except _Refused as refused:
        raise _Refused(f"Permission denied: Failed to resolve parent directory '{parent}' for creation "
                       f"operation: {refused}") from None
    _confined(parts, root, "Parent directory")
    if components[-1] == "..":
        raise _Refused(f"Permission denied: Cannot determine target name for {operation} operation on path "
                       f"'{requested}'")
    if not isinstance(folder, dict):
        raise _Refused(ENOTDIR)
    return folder, components[-1]


def _size(entry: Any) -> int:
    return sum(_size(e) for e in entry.values()) if isinstance(entry, dict) else len(entry)


# --- host functions -----------------------------------------------------------------------------

@_answers
def read_file(rt: Any, actor: Any, path: str) -> bytes:
    entry = _existing(rt, actor, path)[1]
    if isinstance(entry, dict):
        raise _Refused(EISDIR)
    return entry


@_answers
def write_file(rt: Any, actor: Any, path: str, content: str) -> None:
    data = content.encode("utf-8", "surrogatepass")
    charge(rt, actor, "filesystem", "write-file", len(data))
    folder, name = _new(rt, actor, path, "write")
    old = folder.get(name)
    if isinstance(old, dict):
        raise _Refused(EISDIR)
    grown = rt.world.disk_bytes - len(old or b"") + len(data)
    if grown > MAX_DISK_BYTES:
        raise _Refused(ENOSPC)
    folder[name] = data
    rt.world.disk_bytes = grown


@_answers
def list_files(rt: Any, actor: Any, path: str) -> list[str]:
    entry = _existing(rt, actor, path)[1]
    if not isinstance(entry, dict):
        raise _Refused(ENOTDIR)
    return sorted(entry)


@_answers
def delete_file(rt: Any, actor: Any, path: str) -> None:
    parts, entry = _existing(rt, actor, path)
    if isinstance(entry, dict):
        raise _Refused(EISDIR)
    del _at(rt.world.disk, parts[:-1])[parts[-1]]
    rt.world.disk_bytes -= len(entry)


@_answers
def create_dir(rt: Any, actor: Any, path: str) -> None:
    folder, name = _new(rt, actor, path, "create-dir")
    if name in folder:
        raise _Refused(EEXIST)
    folder[name] = {}


@_answers
def delete_dir(rt: Any, actor: Any, path: str) -> None:
    parts, entry = _existing(rt, actor, path)
    if not isinstance(entry, dict):
        raise _Refused(ENOTDIR)
    if not parts:
        raise _Refused(EBUSY)  # the disk's root
    del _at(rt.world.disk, parts[:-1])[parts[-1]]
    rt.world.disk_bytes -= _size(entry)


@_answers
def path_exists(rt: Any, actor: Any, path: str) -> bool:
    _existing(rt, actor, path)
    return True


@_answers
def execute_command(rt: Any, actor: Any, folder: str, command: str, args: list[str]) -> tuple[str, dict]:
    handler = actor.manifest.handler("filesystem")
    allowed = handler.config.get("allowed_commands") if handler is not None else None
    if allowed is not None and command not in allowed:
        raise _Refused(f"Command '{command}' not in allowed list")
    _existing(rt, actor, folder)
    return _run(command, list(args))


@_answers
def execute_nix_command(rt: Any, actor: Any, folder: str, command: str) -> tuple[str, dict]:
    _existing(rt, actor, folder)
    return _run("nix", ["develop", "--command", command])


def _run(command: str, args: list[str]) -> tuple[str, dict]:
    """Theater's ``execute_command`` checks, and then no process."""
    if command != "nix":
        return ("error", {"message": "Command not allowed"})
    if args not in NIX_ARGS:
        return ("error", {"message": "Args not allowed"})
    raise _Refused(f"theater-harness runs no commands: `nix {' '.join(args)}` was not run (the simulated world "
                   f"has no processes)")


FUNCTIONS = world_functions("filesystem", {
    "read-file": read_file,
    "write-file": write_file,
    "list-files": list_files,
    "delete-file": delete_file,
    "create-dir": create_dir,
    "delete-dir": delete_dir,
    "path-exists": path_exists,
    "execute-command": execute_command,
    "execute-nix-command": execute_nix_command,
})
