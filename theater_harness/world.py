"""The outside world of a run: files, environment variables, HTTP services and stores.

Real actors read files and environment variables, call HTTP services and keep data in
Theater's store. Under theater-harness nothing of that leaves the process: a test
describes the world its actors live in with a ``World``,

    World(files={"app/config.json": '{"greeting": "hi"}'}, env={"MODE": "test"},
          http={"GET https://api.example.com/items/*": {"status": 200, "body": "[]", "latency_ms": 40}},
          stores={"shared": {"motd": b"hello"}})

and ``Runtime(world=...)`` gives the run its own copy (``rt.world``, a ``RunWorld``): what
the run's actors write changes that copy only, so one ``World`` serves any number of runs
and forks, each starting from the same state. The world belongs to the run, not to an
actor's incarnation: a restarted actor finds the files and the store content it wrote.

``files`` is the simulated disk: paths (relative to its root ``/``; a key ending in ``/``
with the value None is an empty folder) to ``bytes`` or ``str`` (UTF-8). An actor sees the
folder its ``[[handler]] type = "filesystem"`` names (``host/filesystem.py``). ``env`` is
the environment Theater's environment handler reads (``host/environment.py``). ``http``
answers ``http-client.send-http`` (``host/http_client.py``): a table from
``"METHOD URL-pattern"`` (``*`` for any method; ``*`` and ``?`` in the URL as in
``fnmatch``; the first matching route answers) to a response or to a callable given the
``Request`` and returning one (None: no answer), or one callable for every request. A
run may add routes of its own (``RunWorld.add_route``: the ``world`` fixture's), tried
before the world's. A response is a ``Response``, a dict of its fields
(``status``, ``headers``, ``body``, ``latency_ms``), a status code, or a body (``str`` or
``bytes``, status 200). ``stores`` fills Theater's stores: store id -> {label: content}.
Bad input is a ``WorldError`` naming the key and what would be valid.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import LocatedError

MAX_WORLD_FILE_BYTES = 64 << 20  # one file a test gives (the run's disk is bounded: host/filesystem.py)
_METHOD = re.compile(r"[A-Z]+|\*")
_RESPONSE_KEYS = ("status", "headers", "body", "latency_ms")


class WorldError(LocatedError, ValueError):
    """A world description that is not valid (``field`` names the key at fault)."""


@dataclass(frozen=True)
class Request:
    """An HTTP request an actor sent, as the world receives it."""

    method: str
    uri: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None


@dataclass(frozen=True)
class Response:
    """The world's answer to a request, ``latency_ms`` of virtual time after it was sent."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    latency_ms: int = 0


@dataclass(frozen=True)
class Route:
    """One line of the route table: requests it matches and its response, or the callable
    that answers each of them (what it returns, in any form of a response; None: no answer)."""

    method: str  # "GET", ..., or "*"
    pattern: str  # an fnmatch pattern over the whole URI
    response: Response = Response()
    handler: Callable[[Request], Any] | None = None

    def matches(self, request: Request) -> bool:
        return self.method in ("*", request.method) and fnmatch.fnmatchcase(request.uri, self.pattern)

    def answer(self, request: Request) -> Response | None:
        if self.handler is None:
            return self.response
        answer = self.handler(request)
        where = f"http[{f'{self.method} {self.pattern}'!r}] (the answer to {request.method} {request.uri})"
        return None if answer is None else response_of(answer, where)


@dataclass(frozen=True)
class Exchange:
    """A request the world answered: when, from which actor, and with what (None: no route)."""

    time_ms: int
    actor: str
    request: Request
    response: Response | None


class World:
    """What a test gives its run to live in (validated now; see the module's docstring)."""

    def __init__(self, files: Mapping[str, bytes | str | None] | None = None, env: Mapping[str, str] | None = None,
                 http: Mapping[str, Any] | Callable[[Request], Any] | None = None,
                 stores: Mapping[str, Mapping[str, bytes | str]] | None = None):
        self.files: dict[str, bytes | None] = _files(files)
        self.env: dict[str, str] = _strings(env, "env", "an environment variable")
        self.routes: tuple[Route, ...] = ()
        self.http_handler: Callable[[Request], Any] | None = None
        if callable(http):
            self.http_handler = http
        else:
            self.routes = _routes(http)
        self.stores: dict[str, dict[str, bytes]] = _stores(stores)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, **others: Any) -> "World":
        """A world whose disk holds a copy of ``folder`` (read now, once: the run never
        touches the real disk); ``others`` are the other arguments of ``World``."""
        root = Path(folder)
        if not root.is_dir():
            raise WorldError(f"{str(root)!r} is not a folder", field="from_folder")
        files: dict[str, bytes | None] = {}
        for path in sorted(root.rglob("*")):
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise WorldError(f"{key!r} is a symbolic link; the simulated disk holds only files and folders",
                                 file=root, field="from_folder")
            if path.is_dir():
                files[key + "/"] = None
            else:
                files[key] = path.read_bytes()
        return cls(files={**files, **others.pop("files", {})}, **others)



class RunWorld:
    """A run's own copy of its ``World``: the disk as the run's actors leave it, the
    environment, every HTTP exchange, and the run's stores (``rt.stores``)."""

    def __init__(self, world: World, rt: Any):
        self.given = world
        self.disk: dict[str, Any] = _tree(world.files)  # folder: dict of its entries; file: bytes
        self.disk_bytes = sum(len(v) for v in world.files.values() if v is not None)
        self.env = dict(world.env)
        self.routes = list(world.routes)  # the run's: routes added during it come first (add_route)
        self._added = 0
        self.exchanges: list[Exchange] = []
        self.roots: dict[tuple[str, int], str] = {}  # (actor id, incarnation) -> its filesystem root
        self._rt = rt
        self._streams: dict[str, Any] = {}
        if world.stores:
            from .host.store import seed
            for store_id, labels in world.stores.items():
                for label, content in labels.items():
                    seed(rt, store_id, label, content)

    def add_route(self, route: Route) -> None:
        """Answer the requests ``route`` matches from now on, before the world's own routes
        and after the routes added before it."""
        self.routes.insert(self._added, route)
        self._added += 1

    def answer(self, request: Request) -> Response | None:
        """The response to ``request``: the first matching route's, else the world's
        callable's; None when there is neither."""
        route = next((route for route in self.routes if route.matches(request)), None)
        if route is not None:
            return route.answer(request)
        if self.given.http_handler is not None:
            return response_of(self.given.http_handler(request),
                               f"http (the answer to {request.method} {request.uri})")
        return None

    def stream(self, name: str) -> Any:
        """The run's seeded random stream ``name`` for the world (made on first use)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = self._rt.rng.stream(name)
        return stream

    @property
    def stores(self) -> Any:
        """The run's stores (``host.store.Stores``: store id -> store)."""
        from .host.store import stores_of
        return stores_of(self._rt)

    def files(self) -> dict[str, bytes]:
        """Every file of the disk now, by path from its root, sorted."""
        found: dict[str, bytes] = {}

        def walk(folder: dict, prefix: str) -> None:
            for name in sorted(folder):
                entry = folder[name]
                if isinstance(entry, dict):
                    walk(entry, f"{prefix}{name}/")
                else:
                    found[prefix + name] = entry
        walk(self.disk, "")
        return found

    def read(self, path: str) -> bytes | None:
        """The file at ``path`` (from the disk's root), or None when there is none."""
        entry: Any = self.disk
        for name in [p for p in path.split("/") if p]:
            entry = entry.get(name) if isinstance(entry, dict) else None
        return entry if isinstance(entry, bytes) else None


def response_of(value: Any, where: str) -> Response:
    """A response given in any of its forms (see the module's docstring), validated."""
    if isinstance(value, Response):
        value = {name: getattr(value, name) for name in _RESPONSE_KEYS}
    elif isinstance(value, int) and not isinstance(value, bool):
        value = {"status": value}
    elif isinstance(value, (str, bytes, bytearray)):
        value = {"body": value}
    if not isinstance(value, Mapping):
        raise WorldError(f"expected a response: a Response, a dict with {', '.join(_RESPONSE_KEYS)}, a status "
                         f"code or a body (str or bytes), got {type(value).__name__}", field=where)
    unknown = [k for k in value if k not in _RESPONSE_KEYS]
    if unknown:
        raise WorldError(f"unknown key {unknown[0]!r}; a response has {', '.join(_RESPONSE_KEYS)}", field=where)
    status = value.get("status", 200)
    if not _is_int(status) or not 100 <= status <= 999:
        raise WorldError(f"expected an HTTP status from 100 to 999, got {status!r}", field=f"{where}.status")
    latency = value.get("latency_ms", 0)
    if not _is_int(latency) or not 0 <= latency <= 1 << 53:
        raise WorldError(f"expected virtual milliseconds (an integer >= 0), got {latency!r}",
                         field=f"{where}.latency_ms")
    body = value.get("body", b"")
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, (bytes, bytearray)):
        raise WorldError(f"expected bytes or str, got {type(body).__name__}", field=f"{where}.body")
    headers = value.get("headers", ())
    pairs = list(headers.items()) if isinstance(headers, Mapping) else headers
    if not isinstance(pairs, (list, tuple)) or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs):
        raise WorldError("expected a dict of header names to values, or a list of (name, value) string pairs",
                         field=f"{where}.headers")
    return Response(status, tuple((name, text) for name, text in pairs), bytes(body), latency)


# --- validation ---------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(value: Any, where: str, expected: str) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise WorldError(f"expected {expected}, got {type(value).__name__}", field=where)
    return value


def _strings(value: Any, where: str, what: str) -> dict[str, str]:
    table = _mapping(value, where, f"a dict of {what} names to strings")
    for key, text in table.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise WorldError(f"expected a non-empty name without '=' or NUL, got {key!r}", field=where)
        if not isinstance(text, str) or "\0" in text:
            raise WorldError(f"expected a string without NUL, got {type(text).__name__}", field=f"{where}[{key!r}]")
    return dict(table)


def _files(value: Any) -> dict[str, bytes | None]:
    table = _mapping(value, "files", "a dict of paths to bytes or str (None for an empty folder 'name/')")
    files: dict[str, bytes | None] = {}
    for key, content in table.items():
        where = f"files[{key!r}]"
        if not isinstance(key, str):
            raise WorldError(f"expected a path string, got {type(key).__name__}", field="files")
        parts = key.strip("/").split("/")
        if not key.strip("/") or "\0" in key or any(p in ("", ".", "..") for p in parts):
            raise WorldError("expected a path from the disk's root such as 'app/config.json' (no empty, '.' or "
                             "'..' parts)", field=where)
        if key.endswith("/"):
            if content is not None:
                raise WorldError("a key ending in '/' is an empty folder: give it the value None", field=where)
        elif isinstance(content, str):
            content = content.encode()
        elif not isinstance(content, (bytes, bytearray)):
            raise WorldError(f"expected bytes or str, got {type(content).__name__}", field=where)
        if content is not None and len(content) > MAX_WORLD_FILE_BYTES:
            raise WorldError(f"{len(content)} bytes; a file of the world is at most {MAX_WORLD_FILE_BYTES}",
                             field=where)
        files[key.strip("/") + ("/" if content is None else "")] = None if content is None else bytes(content)
    _tree(files)  # a file where a folder must be, or the reverse, is refused now
    return files


def _tree(files: Mapping[str, bytes | None]) -> dict[str, Any]:
    """The disk as nested dicts (a folder is a dict, a file its bytes), built afresh."""
    root: dict[str, Any] = {}
    for key, content in files.items():
        *folders, name = key.rstrip("/").split("/")
        folder = root
        for i, part in enumerate(folders):
            folder = folder.setdefault(part, {})
            if not isinstance(folder, dict):
                raise WorldError(f"{'/'.join(folders[:i + 1])!r} is a file, so it cannot hold {key!r}", field="files")
        if content is None:
            if not isinstance(folder.setdefault(name, {}), dict):
                raise WorldError(f"{key!r} is given both as a file and as a folder", field="files")
        elif isinstance(folder.get(name), dict):
            raise WorldError(f"{key!r} is given both as a file and as a folder", field="files")
        else:
            folder[name] = content
    return root


def _routes(value: Any) -> tuple[Route, ...]:
    table = _mapping(value, "http", 'a dict of "METHOD URL-pattern" to responses, or a callable')
    routes = []
    for key, response in table.items():
        method, _, pattern = key.partition(" ") if isinstance(key, str) else ("", "", "")
        if not _METHOD.fullmatch(method) or not pattern.strip():
            raise WorldError(f'expected "METHOD URL-pattern" (e.g. "GET https://api.example.com/items/*"; METHOD in '
                             f'capitals, or * for any), got {key!r}', field="http")
        if callable(response) and not isinstance(response, Response):
            routes.append(Route(method, pattern.strip(), handler=response))
        else:
            routes.append(Route(method, pattern.strip(), response_of(response, f"http[{key!r}]")))
    return tuple(routes)


def _stores(value: Any) -> dict[str, dict[str, bytes]]:
    table = _mapping(value, "stores", "a dict of store ids to {label: content}")
    stores: dict[str, dict[str, bytes]] = {}
    for store_id, labels in table.items():
        if not isinstance(store_id, str) or not store_id:
            raise WorldError(f"expected a store id (a non-empty string), got {store_id!r}", field="stores")
        labels = _mapping(labels, f"stores[{store_id!r}]", "a dict of labels to content (bytes or str)")
        stores[store_id] = {}
        for label, content in labels.items():
            if not isinstance(label, str) or not label:
                raise WorldError(f"expected a label (a non-empty string), got {label!r}", field=f"stores[{store_id!r}]")
            if not isinstance(content, (bytes, bytearray, str)):
                raise WorldError(f"expected bytes or str, got {type(content).__name__}",
                                 field=f"stores[{store_id!r}][{label!r}]")
            stores[store_id][label] = content.encode() if isinstance(content, str) else bytes(content)
    return stores


__all__ = ["Exchange", "Request", "Response", "Route", "RunWorld", "World", "WorldError", "response_of"]
