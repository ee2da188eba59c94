"""Theater manifests (TOML), every era, validated up front into frozen records.

Current Theater writes ``[[handler]]`` tables with the handler's config fields
inline and names the component ``component`` (today's Theater: ``package``, with
``initial_state``, ``long_description``, ``static_package`` and
``permission_policy``); older Theater wrote ``component_path`` and ``[[handlers]]``
with a ``config`` table. All load into the same :class:`Manifest`; the stale
``[actor]`` / ``[handlers]`` layout, which Theater itself does not parse, is refused.
Tables the harness adds itself (for
example ``[supervision]``) are kept raw in ``Manifest.tables`` for the code
that owns them. The whole document, ``[supervision]`` included, is validated by
its schema (``schema/manifest.py``) before any record is made; every error names
the file and the field at fault.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .chain import to_json_bytes
from .errors import ManifestError
from .schema import _core
from .schema.manifest import COMPONENT_KEYS as _COMPONENT_KEYS
from .schema.manifest import FIELDS as _FIELDS
from .schema.manifest import (  # noqa: F401  (re-exported)
    HANDLER_TYPES,
    PROVIDED_HANDLERS,
    THEATER_ONLY_TYPES,
    check_manifest,
)

DEFAULT_VERSION = "0.1.0"  # Theater requires `version`; we default it, as actors rarely care
INLINE_SOURCE = "<inline manifest>"
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY  # dataclasses refuse an unhashable default, even a read-only one


@dataclass(frozen=True)
class HandlerSpec:
    """One declared handler: its type and its config fields (a read-only view).

    ``extra`` holds the keys of an older ``[[handlers]]`` table other than
    ``type`` and ``config`` (such as ``interface``), which Theater ignored.
    """

    type: str
    config: Mapping[str, Any] = field(default_factory=_empty)
    extra: Mapping[str, Any] = field(default_factory=_empty)


@dataclass(frozen=True)
class Manifest:
    """A validated manifest.

    ``component`` is absolute (resolved from ``base_dir``, the manifest's
    folder) and need not exist yet; ``component_key`` is the key it was read
    from (``"component"``, ``"component_path"`` or ``"package"``: the first of
    them the manifest gives), for error messages. ``init_state`` is normalised
    JSON bytes (compact, sorted keys, like serde_json's ``Value``): the harness's
    own key. ``initial_state`` is today's Theater's: a string that becomes the
    actor's initial state as a ``string`` value (a manifest gives at most one of
    the two). ``permission_policy`` is that table, read-only (tables as mappings,
    arrays as tuples), not interpreted. ``era`` is ``"handlers"`` for the older
    format (``[[handlers]]``, or no handler tables and only ``component_path``),
    else ``"handler"``. ``tables`` holds every top-level key that is not a field
    above, raw.
    """

    name: str
    component: Path
    version: str = DEFAULT_VERSION
    description: str | None = None
    save_chain: bool = False
    init_state: bytes | None = None
    handlers: tuple[HandlerSpec, ...] = ()
    source: str = INLINE_SOURCE
    base_dir: Path = Path(".")
    era: str = "handler"
    tables: Mapping[str, Any] = field(default_factory=_empty)
    initial_state: str | None = None
    long_description: str | None = None
    static_package: bool = False
    permission_policy: Mapping[str, Any] = field(default_factory=_empty)
    component_key: str = "component"

    @property
    def handler_types(self) -> tuple[str, ...]:
        """The declared handler types, in order, without duplicates."""
        return tuple(dict.fromkeys(h.type for h in self.handlers))

    def handler(self, handler_type: str) -> HandlerSpec | None:
        """The first handler of that type, or None when the manifest does not declare it."""
        return next((h for h in self.handlers if h.type == handler_type), None)

    @property
    def component_exists(self) -> bool:
        return self.component.is_file()


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate the manifest at ``path``; relative paths in it resolve from its folder."""
    def error(field: str | None, message: str) -> ManifestError:
        return ManifestError(message, file=path, field=field)

    text = _core.read_text(path, error, cannot="cannot read the manifest", not_found="manifest file not found")
    return parse_manifest(text, source=str(path), base_dir=Path(path).resolve().parent)


def parse_manifest(text: str, *, source: str = INLINE_SOURCE, base_dir: Path | None = None) -> Manifest:
    """Validate manifest TOML text (``schema.manifest``, its ``[supervision]`` included).
    ``base_dir`` (default: the working directory) is the folder relative paths resolve
    from; ``source`` names the text in errors."""
    base = (Path.cwd() if base_dir is None else Path(base_dir)).resolve()

    def error(field: str | None, message: str) -> ManifestError:
        return ManifestError(message, file=source, field=field)

    doc = _core.parse_toml(text, error)
    check_manifest(doc, source)
    current, older = doc.get("handler"), doc.get("handlers")
    if older is not None:
        handlers, era = _handler_specs(older, "handlers"), "handlers"
    else:
        handlers = _handler_specs(current or [], "handler")
        only_old_path = "component_path" in doc and "component" not in doc and "package" not in doc
        era = "handlers" if current is None and only_old_path else "handler"
    return Manifest(
        name=doc["name"],
        component=_component(doc, base, source),
        component_key=next(key for key in _COMPONENT_KEYS if key in doc),
        version=doc.get("version") or DEFAULT_VERSION,
        description=doc.get("description"),
        save_chain=bool(doc.get("save_chain")),
        init_state=_init_state(doc.get("init_state"), base, source),
        handlers=handlers,
        source=source,
        base_dir=base,
        era=era,
        tables=MappingProxyType({k: v for k, v in doc.items() if k not in _FIELDS}),
        initial_state=doc.get("initial_state"),
        long_description=doc.get("long_description"),
        static_package=bool(doc.get("static_package")),
        permission_policy=_read_only(doc.get("permission_policy", {})),
    )


def _read_only(value: Any) -> Any:
    """``value`` with every table a read-only mapping and every array a tuple."""
    if isinstance(value, dict):
        return MappingProxyType({k: _read_only(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_read_only(v) for v in value)
    return value


def _component(doc: dict[str, Any], base: Path, source: str) -> Path:
    """The component path from ``component`` / ``component_path`` / ``package`` (validated:
    non-empty path strings)."""
    given = [(key, doc[key]) for key in _COMPONENT_KEYS if key in doc]
    first_key, first = given[0]
    for key, value in given[1:]:
        if (base / value).resolve() != (base / first).resolve():
            raise ManifestError(f'"{value}" disagrees with {first_key} = "{first}"; keep only {first_key}',
                                file=source, field=key)
    return (base / first).resolve()


def _handler_specs(entries: list[dict], key: str) -> tuple[HandlerSpec, ...]:
    """The handler tables of either era (validated)."""
    specs = []
    for entry in entries:
        if key == "handler":
            config = {k: v for k, v in entry.items() if k != "type"}
            extra: dict[str, Any] = {}
        else:
            config = entry.get("config", {})
            extra = {k: v for k, v in entry.items() if k not in ("type", "config")}
        specs.append(HandlerSpec(entry["type"], MappingProxyType(config), MappingProxyType(extra)))
    return tuple(specs)


def _init_state(value: Any, base: Path, source: str) -> bytes | None:
    """``init_state`` as normalised JSON bytes: from a JSON file path (relative to the
    manifest's folder), inline JSON text, or a TOML table/array."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        try:
            return to_json_bytes(value, sort_keys=True)
        except TypeError as exc:
            raise ManifestError(f"cannot convert this TOML value to JSON: {exc} "
                                "(TOML dates and times have no JSON form)",
                                file=source, field="init_state") from None
    if value.lstrip()[:1] in ("{", "["):
        return _normalised_json(value, "the inline JSON", source)
    path = (base / value).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ManifestError(f"cannot read the JSON file {path}: {reason}",
                            file=source, field="init_state") from None
    return _normalised_json(text, f"the JSON file {path}", source)


def _normalised_json(text: str, origin: str, source: str) -> bytes:
    def error(field: str | None, message: str) -> ManifestError:
        return ManifestError(f"{origin} is {message}", file=source, field="init_state")

    try:
        value = json.loads(text, parse_constant=_core.reject_constant, parse_float=_core.finite_float)
    except json.JSONDecodeError as exc:
        raise error(None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (RecursionError, ValueError) as exc:
        reason = f"nested too deeply: at most {_core.MAX_DEPTH} levels" if isinstance(exc, RecursionError) else exc
        raise error(None, f"not valid JSON: {reason}") from None
    _core.check_depth(value, lambda field, message: error(None, f"not accepted: {message}"))
    _core.check_strings(value, lambda field, message: error(None, f"not accepted: {message}"))
    return to_json_bytes(value, sort_keys=True)


_NOT_JSON = object()


def _json_or_not(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _NOT_JSON


def merge_init_state(manifest_state: bytes | None, spawn_bytes: bytes | None) -> bytes | None:
    """The state ``init`` gets at spawn (Theater's rule).

    Two JSON objects are shallow-merged, spawn keys winning; otherwise the
    spawn value wins. A merged or winning JSON value is re-serialized compactly
    with sorted keys; spawn bytes that are not JSON are passed on verbatim, and
    so are the spawn bytes when the manifest has no state.
    """
    if spawn_bytes is None:
        return manifest_state
    if manifest_state is None:
        return spawn_bytes
    spawn = _json_or_not(spawn_bytes)
    if spawn is _NOT_JSON:
        return spawn_bytes
    base = _json_or_not(manifest_state)
    if isinstance(base, dict) and isinstance(spawn, dict):
        return to_json_bytes({**base, **spawn}, sort_keys=True)
    return to_json_bytes(spawn, sort_keys=True)
