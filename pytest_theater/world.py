"""The ``world`` fixture: the outside world of the test's ``theater`` runtime, set up and
read back from the test.

    def test_sync(theater, world):
        world.files["app/config.txt"] = "https://api.example.com/sync"
        world.env["API_TOKEN"] = "secret"
        world.route("POST https://api.example.com/*", status=201, body="saved", latency_ms=40)
        world.store("visits", count=b"3")
        ...                                   # spawn actors, run the clock
        assert world.files["app/out.txt"] == b"done"
        assert [r.uri for r in world.requests] == ["https://api.example.com/sync"]
        assert world.store("visits") == {"count": b"4"}

The fixture is a live view of the runtime's world (``theater.world``, a ``RunWorld``):
every change applies at once, to the world calls made from then on, and every read shows
the world as the run has left it so far. So set up what an actor reads at its ``init``
before spawning it; anything else may also change mid-run (a route that starts failing
at 500 ms: ``sim_clock.run(500)``, then ``world.route(...)``). What is given is validated
as ``theater_harness.world.World`` validates it (a ``WorldError`` names the key).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from theater_harness.world import Exchange, Request, World, WorldError


class WorldFiles(MutableMapping):
    """The run's simulated disk by path from its root: a file's content (``bytes``; a
    ``str`` given is stored as UTF-8). A key ending in ``/`` set to None makes an empty
    folder; folders on the way to a file are made as needed."""

    def __init__(self, run: Any):
        self._run = run

    def __getitem__(self, path: str) -> bytes:
        content = self._run.read(path) if isinstance(path, str) else None
        if content is None:
            raise KeyError(path)
        return content

    def __setitem__(self, path: str, content: bytes | str | None) -> None:
        ((key, data),) = World(files={path: content}).files.items()  # validated and normalised
        *folders, name = key.rstrip("/").split("/")
        folder = self._run.disk
        for i, part in enumerate(folders):
            folder = folder.setdefault(part, {})
            if not isinstance(folder, dict):
                raise WorldError(f"{'/'.join(folders[:i + 1])!r} is a file, so it cannot hold {key!r}",
                                 field=f"files[{path!r}]")
        old = folder.get(name)
        if data is None:
            if not isinstance(folder.setdefault(name, {}), dict):
                raise WorldError(f"{key.rstrip('/')!r} is a file, not a folder", field=f"files[{path!r}]")
            return
        if isinstance(old, dict):
            raise WorldError(f"{key!r} is a folder, not a file", field=f"files[{path!r}]")
        folder[name] = data
        self._run.disk_bytes += len(data) - len(old or b"")

    def __delitem__(self, path: str) -> None:
        content = self[path]
        *folders, name = [part for part in path.split("/") if part]
        folder = self._run.disk
        for part in folders:
            folder = folder[part]
        del folder[name]
        self._run.disk_bytes -= len(content)

    def __iter__(self) -> Iterator[str]:
        return iter(self._run.files())

    def __len__(self) -> int:
        return len(self._run.files())

    def __repr__(self) -> str:
        return f"WorldFiles({sorted(self)!r})"


class WorldEnv(MutableMapping):
    """The run's environment variables (each actor sees them over its manifest's ``vars``)."""

    def __init__(self, run: Any):
        self._run = run

    def __getitem__(self, name: str) -> str:
        return self._run.env[name]

    def __setitem__(self, name: str, value: str) -> None:
        self._run.env.update(World(env={name: value}).env)  # validated

    def __delitem__(self, name: str) -> None:
        del self._run.env[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._run.env)

    def __len__(self) -> int:
        return len(self._run.env)

    def __repr__(self) -> str:
        return f"WorldEnv({self._run.env!r})"


class WorldFixture:
    """The ``world`` fixture (see the module's docstring): ``files``, ``env``, ``route``,
    ``store``, and the HTTP ``requests`` the run's actors made."""

    def __init__(self, runtime: Any):
        self._runtime = runtime
        self._run = runtime.world
        self._routes = 0  # added by the test
        self.files = WorldFiles(self._run)
        self.env = WorldEnv(self._run)

    def route(self, route: str, response: Any = None, /, **fields: Any) -> None:
        """Answer the requests ``route`` matches (``"METHOD URL-pattern"``: ``*`` for any
        method; ``*`` and ``?`` in the URL as in ``fnmatch``) with ``response`` (a
        ``Response``, a dict of its fields, a status code or a body) or with the response
        fields given as keywords (``status``, ``headers``, ``body``, ``latency_ms``); or,
        with a callable, with what it returns for each ``Request`` (None: no answer; an
        exception fails the calling actor, kind ``host-error``). Routes are tried in the
        order they were added; a request none matches (or not answered) fails as an
        unreachable server does."""
        if response is not None and fields:
            raise TypeError("world.route: give the response or its fields as keywords, not both")
        (checked,) = World(http={route: fields if response is None else response}).routes  # validated
        self._run.add_route(checked)
        self._routes += 1

    def store(self, store_id: str, labels: Mapping[str, bytes | str] | None = None, /,
              **more: bytes | str) -> dict[str, bytes]:
        """Put content at labels of the run's store ``store_id`` (``labels`` and ``more``:
        label -> ``bytes`` or ``str``, stored as UTF-8), as if it had been there before the
        run; returns what every label of that store holds now (``{}`` for a store no one
        wrote to)."""
        from theater_harness.host.store import seed, stores_of

        given = World(stores={store_id: {**(labels or {}), **more}}).stores  # validated
        for label, content in given[store_id].items():
            seed(self._runtime, store_id, label, content)
        target = stores_of(self._runtime).get(store_id)
        if target is None:
            return {}
        return {label: target.content[ref] for label, ref in sorted(target.labels.items())}

    @property
    def exchanges(self) -> list[Exchange]:
        """Every HTTP request of the run so far, in order: when, from which actor, and the
        response (None: no route matched)."""
        return list(self._run.exchanges)

    @property
    def requests(self) -> list[Request]:
        """Every HTTP request the run's actors made so far, in order."""
        return [exchange.request for exchange in self._run.exchanges]

    def __repr__(self) -> str:
        return (f"<world: {len(self.files)} files, {len(self.env)} env vars, {self._routes} routes, "
                f"{len(self._run.exchanges)} requests>")
