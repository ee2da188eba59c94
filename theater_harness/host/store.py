"""`theater:simple/store`: content-addressed stores with labels, kept in the runtime.

A store holds content (bytes) under its content ref, the SHA-1 of the content in
lowercase hex, as Theater's ``ContentRef::from_content`` computes it (storing the same bytes twice keeps them once), and labels: names that each
point to one content ref. Stores belong to the run (``rt.stores``, created on first use),
not to an actor: they are the outside world, so they outlive incarnations (a restarted
actor finds its content again) and actors that know a store's id share it.

As in Theater, where a store is a folder named by its id, any id names a store: one never
written to reads as empty (``list-all-content`` is empty, ``get`` finds nothing), and the
first write makes it. ``new()`` returns a fresh id, a UUID drawn from the run's seeded
generator (stream ``store-ids``), unless the actor's manifest declares
``[[handler]] type = "store"`` with ``store_id = "..."``: then ``new()`` returns that id, as
Theater's store handler does, so every actor so configured shares that one store
(``base_path`` is accepted and ignored: nothing is written to disk).

The functions follow Theater's store handler (``theater-handler-store`` @TH): ``label``
and ``replace-at-label`` point a label at existing content (else the error
``Content does not exist: <ref>``), replacing what it pointed to; ``store-at-label`` and
``replace-content-at-label`` store content and point the label at it; ``remove-label`` of
a label that does not exist is not an error; ``get-by-label`` gives ``none`` for it.
``list-all-content`` and ``list-labels`` are sorted (by code point), so a listing does not
depend on the order things were stored in; ``calculate-total-size`` is the bytes of the
store's content (labels not counted).

Both ABIs have the store. The component era's (Theater's WIT, `theater:simple/store`) has
the same functions, but its content refs are records ``{hash: string}`` (served under
``wasm._wit.HOST_NAMES``), and one more, ``remove-from-label(store, label, ref)``: the label
is removed if it points to ``ref``, else nothing happens (Theater's
``ContentStore::remove_from_label``; its component-era handler declared it in the WIT but
did not link it). The packr store has no ``remove-from-label`` (``theater-handler-store``
@TH). Every call, of either era, passes the world's choke point (``world_calls``): it is
recorded (a ``world`` trace record) and is where store faults enter. A ``World``'s
``stores`` fill the stores before the run (``seed``).

Arguments may be plain Python values or packr values (``String``, ``Bytes``: subclasses of
``str`` and ``bytes``); the stores keep and return plain ``str`` and ``bytes``.

Bounds: the content an actor hands over in one call counts as a message it sends
(``max_message_bytes``, ``max_sent_bytes``, and its chain: limits.py), crossing them ends
the actor with exit kind ``limit``; a run's stores hold at most ``MAX_STORES`` stores,
``MAX_STORE_BYTES`` bytes of content and labels and ``MAX_STORE_ENTRIES`` contents and
labels together, beyond which a write returns an error; a store id or a label is at most
``MAX_NAME_BYTES`` bytes (a path's length on Linux).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..wasm._wit import HOST_NAMES
from .world_calls import charge, world_function, world_functions

MAX_STORES = 10_000
MAX_STORE_BYTES = 256 << 20
MAX_STORE_ENTRIES = 1_000_000
MAX_NAME_BYTES = 4096


@dataclass(eq=False)
class ContentStore:
    """One store: content by ref (in the order first stored) and labels (label -> ref)."""

    id: str
    content: dict[str, bytes] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    size: int = 0  # bytes of content


class Stores(dict):
    """The run's stores by id (``rt.stores``), with the stream their ids come from and what
    they hold together."""

    def __init__(self, rt: Any):
        super().__init__()
        self.ids = rt.rng.stream("store-ids")  # its own stream: other ids do not shift
        self.held = 0  # bytes of content and labels in every store
        self.entries = 0  # contents and labels in every store


def stores_of(rt: Any) -> Stores:
    """The run's stores (created on first use)."""
    stores = getattr(rt, "stores", None)
    if stores is None:
        stores = rt.stores = Stores(rt)
    return stores


def content_ref(content: bytes) -> str:
    """The ref of ``content``: its SHA-1, lowercase hex (Theater's ``ContentRef``)."""
    return hashlib.sha1(content).hexdigest()


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _name_problem(what: str, text: str) -> str | None:
    if not text:
        return f"a {what} cannot be empty"
    if _size(text) > MAX_NAME_BYTES:
        return f"a {what} is at most {MAX_NAME_BYTES} bytes, got {_size(text)}"
    return None


def _writable(rt: Any, store_id: str) -> tuple[ContentStore | None, str | None]:
    """The store ``store_id``, made if it does not exist yet; or an error text."""
    stores = stores_of(rt)
    store = stores.get(store_id)
    if store is not None:
        return store, None
    problem = _name_problem("store id", store_id)
    if problem is not None:
        return None, problem
    if len(stores) >= MAX_STORES:
        return None, f"the run already has {len(stores)} stores, the most it may have"
    store = stores[store_id] = ContentStore(store_id)
    return store, None


def _put(rt: Any, store: ContentStore, content: bytes) -> tuple[str | None, str | None]:
    """Store ``content``; its ref, or an error text."""
    ref = content_ref(content)
    if ref in store.content:
        return ref, None
    stores = stores_of(rt)
    problem = _room(stores, len(content))
    if problem is not None:
        return None, problem
    store.content[ref] = content
    store.size += len(content)
    stores.held += len(content)
    stores.entries += 1
    return ref, None


def _point(rt: Any, store: ContentStore, label: str, ref: str) -> str | None:
    """Point ``label`` at ``ref`` (content of the store); None, or an error text."""
    stores = stores_of(rt)
    if label not in store.labels:
        problem = _room(stores, _size(label))
        if problem is not None:
            return problem
        stores.held += _size(label)
        stores.entries += 1
    store.labels[label] = ref
    return None


def _room(stores: Stores, size: int) -> str | None:
    if stores.held + size > MAX_STORE_BYTES:
        return (f"the stores are full: they hold {stores.held} bytes, and {size} more would pass "
                f"{MAX_STORE_BYTES}, the most a run's stores may hold")
    if stores.entries >= MAX_STORE_ENTRIES:
        return f"the stores are full: they hold {stores.entries} contents and labels, the most a run's stores may hold"
    return None


def _existing(rt: Any, store_id: str) -> ContentStore | None:
    return stores_of(rt).get(store_id)


def _missing(ref: str) -> str:
    return f"Content does not exist: {ref}"  # Theater's words


# --- host functions ----------------------------------------------------------------


def new(rt: Any, actor: Any) -> tuple[bool, Any]:
    configured = actor.manifest.handler("store") if actor is not None else None
    store_id = configured.config.get("store_id") if configured is not None else None  # validated: a string
    if store_id is None:
        stores = stores_of(rt)
        store_id = stores.ids.uuid()
        while store_id in stores:  # (a collision of random UUIDs: drawn again, deterministically)
            store_id = stores.ids.uuid()
    store, error = _writable(rt, store_id)
    if error is not None:
        return (False, error)
    return (True, store.id)


def store(rt: Any, actor: Any, store_id: str, content: bytes) -> tuple[bool, Any]:
    store_id, content = str(store_id), bytes(content)
    charge(rt, actor, "store", "store", len(content))
    target, error = _writable(rt, store_id)
    if error is None:
        ref, error = _put(rt, target, content)
    return (False, error) if error is not None else (True, ref)


def get(rt: Any, actor: Any, store_id: str, ref: str) -> tuple[bool, Any]:
    store_id, ref = str(store_id), str(ref)
    target = _existing(rt, store_id)
    content = target.content.get(ref) if target is not None else None
    if content is None:
        return (False, _missing(ref))
    return (True, content)


def exists(rt: Any, actor: Any, store_id: str, ref: str) -> tuple[bool, Any]:
    store_id, ref = str(store_id), str(ref)
    target = _existing(rt, store_id)
    return (True, target is not None and ref in target.content)


def label(rt: Any, actor: Any, store_id: str, name: str, ref: str) -> tuple[bool, Any]:
    """Point the label at existing content (replacing what it pointed to)."""
    return _label(rt, actor, "label", store_id, name, ref)


def replace_at_label(rt: Any, actor: Any, store_id: str, name: str, ref: str) -> tuple[bool, Any]:
    """The same as ``label`` (as in Theater)."""
    return _label(rt, actor, "replace-at-label", store_id, name, ref)


def _label(rt: Any, actor: Any, function: str, store_id: str, name: str, ref: str) -> tuple[bool, Any]:
    store_id, name, ref = str(store_id), str(name), str(ref)
    problem = _name_problem("label", name)
    if problem is not None:
        return (False, problem)
    charge(rt, actor, "store", function, _size(name))
    target = _existing(rt, store_id)
    if target is None or ref not in target.content:
        return (False, _missing(ref))
    error = _point(rt, target, name, ref)
    return (False, error) if error is not None else (True, None)


def get_by_label(rt: Any, actor: Any, store_id: str, name: str) -> tuple[bool, Any]:
    store_id, name = str(store_id), str(name)
    target = _existing(rt, store_id)
    return (True, target.labels.get(name) if target is not None else None)


def remove_label(rt: Any, actor: Any, store_id: str, name: str) -> tuple[bool, Any]:
    store_id, name = str(store_id), str(name)
    target = _existing(rt, store_id)
    if target is not None and target.labels.pop(name, None) is not None:
        stores = stores_of(rt)
        stores.held -= _size(name)
        stores.entries -= 1
    return (True, None)


def store_at_label(rt: Any, actor: Any, store_id: str, name: str, content: bytes) -> tuple[bool, Any]:
    """Store the content and point the label at it."""
    return _store_at(rt, actor, "store-at-label", store_id, name, content)


def replace_content_at_label(rt: Any, actor: Any, store_id: str, name: str, content: bytes) -> tuple[bool, Any]:
    """The same as ``store-at-label`` (as in Theater)."""
    return _store_at(rt, actor, "replace-content-at-label", store_id, name, content)


def _store_at(rt: Any, actor: Any, function: str, store_id: str, name: str, content: bytes) -> tuple[bool, Any]:
    store_id, name, content = str(store_id), str(name), bytes(content)
    problem = _name_problem("label", name)
    if problem is not None:
        return (False, problem)
    charge(rt, actor, "store", function, len(content) + _size(name))
    ref, error = _write_at(rt, store_id, name, content)
    return (False, error) if error is not None else (True, ref)


def _write_at(rt: Any, store_id: str, name: str, content: bytes) -> tuple[str | None, str | None]:
    """Store ``content`` in ``store_id`` (made if new) and point label ``name`` at it: its
    ref, or an error text."""
    target, error = _writable(rt, store_id)
    if error is None:
        ref, error = _put(rt, target, content)
    if error is None:
        error = _point(rt, target, name, ref)
    return (None, error) if error is not None else (ref, None)


def list_all_content(rt: Any, actor: Any, store_id: str) -> tuple[bool, Any]:
    target = _existing(rt, str(store_id))
    return (True, sorted(target.content) if target is not None else [])


def calculate_total_size(rt: Any, actor: Any, store_id: str) -> tuple[bool, Any]:
    target = _existing(rt, str(store_id))
    return (True, target.size if target is not None else 0)


def list_labels(rt: Any, actor: Any, store_id: str) -> tuple[bool, Any]:
    target = _existing(rt, str(store_id))
    return (True, sorted(target.labels) if target is not None else [])


def seed(rt: Any, store_id: str, name: str, content: bytes) -> None:
    """Store ``content`` at label ``name`` of store ``store_id`` before the run starts (a
    ``World``'s ``stores``); no actor asked, so nothing is recorded or charged."""
    _, error = _write_at(rt, store_id, name, content)
    if error is not None:
        raise ValueError(f"the world's store {store_id!r}, label {name!r}: {error}")


# --- the component era: content refs are records ------------------------------------------


def remove_from_label(rt: Any, actor: Any, store_id: str, name: str, ref: str) -> tuple[bool, Any]:
    """Remove the label if it points to ``ref``; else (or without the label) do nothing."""
    target = _existing(rt, str(store_id))
    if target is not None and target.labels.get(str(name)) == str(ref):
        return remove_label(rt, actor, store_id, name)
    return (True, None)


def _with_records(fn: Any, *, ref_at: int | None = None, lift: Any = None) -> Any:
    """``fn`` for the component era, whose content refs are records ``{hash: string}``:
    the ref argument at ``ref_at`` becomes its hash, and ``lift`` makes records of the
    refs of an ok answer."""
    def component_era(rt: Any, actor: Any, *args: Any) -> tuple[bool, Any]:
        if ref_at is not None:
            args = (*args[:ref_at], args[ref_at]["hash"], *args[ref_at + 1:])
        ok, value = fn(rt, actor, *args)
        return (ok, lift(value)) if ok and lift is not None else (ok, value)
    component_era.__name__ = fn.__name__
    component_era.__doc__ = fn.__doc__
    return component_era


def _record(ref: str) -> dict:
    return {"hash": ref}


def _record_or_none(ref: str | None) -> dict | None:
    return None if ref is None else _record(ref)


def _records(refs: list[str]) -> list[dict]:
    return [_record(ref) for ref in refs]


# The packr era's functions (refs are strings) under their names; the component era's
# that differ (refs are records) under ``HOST_NAMES`` (``wasm._wit``). Every one is a
# world function: recorded, and faultable, alike.
FUNCTIONS = {
    **world_functions("store", {
        "new": new,
        "store": store,
        "get": get,
        "exists": exists,
        "label": label,
        "get-by-label": get_by_label,
        "remove-label": remove_label,
        "store-at-label": store_at_label,
        "replace-content-at-label": replace_content_at_label,
        "replace-at-label": replace_at_label,
        "list-all-content": list_all_content,
        "calculate-total-size": calculate_total_size,
        "list-labels": list_labels,
    }),
    **{HOST_NAMES["store", name]: world_function("store", name, _with_records(fn, ref_at=ref_at, lift=lift))
       for name, fn, ref_at, lift in (
           ("store", store, None, _record),
           ("get", get, 1, None),
           ("exists", exists, 1, None),
           ("label", label, 2, None),
           ("get-by-label", get_by_label, None, _record_or_none),
           ("remove-from-label", remove_from_label, 2, None),
           ("store-at-label", store_at_label, None, _record),
           ("replace-content-at-label", replace_content_at_label, None, _record),
           ("replace-at-label", replace_at_label, 2, None),
           ("list-all-content", list_all_content, None, _records),
       )},
}
