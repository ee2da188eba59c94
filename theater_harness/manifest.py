"""Theater manifests (TOML), both eras, validated up front into frozen records.

Current Theater writes ``[[handler]]`` tables with the handler's config fields
inline and names the component ``component`` (the newest: ``package``); older
Theater wrote ``component_path`` and ``[[handlers]]`` with a ``config`` table.
Both load into the same :class:`Manifest`. Tables the harness adds itself (for
example ``[supervision]``) are kept raw in ``Manifest.tables`` for the code
that owns them to validate. Every error names the file and the field at fault.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .chain import to_json_bytes
from .errors import ManifestError

HANDLER_TYPES = ("runtime", "message-server", "supervisor", "timing", "random", "store")
# Handler types real Theater has but the harness does not provide: named as such in errors.
_THEATER_ONLY_TYPES = ("filesystem", "http-client", "http-framework", "process", "environment")
DEFAULT_VERSION = "0.1.0"  # Theater requires `version`; we default it, as actors rarely care
INLINE_SOURCE = "<inline manifest>"
_COMPONENT_KEYS = ("component", "component_path", "package")  # in order of preference
_FIELDS = frozenset({"name", "version", *_COMPONENT_KEYS, "description", "save_chain",
                     "init_state", "handler", "handlers"})
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
    folder) and need not exist yet. ``init_state`` is normalised JSON bytes
    (compact, sorted keys, like serde_json's ``Value``). ``era`` is
    ``"handlers"`` for the older format (``[[handlers]]``, or no handler tables
    and only ``component_path``), else ``"handler"``. ``tables`` holds every
    top-level key that is not a field above, raw.
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
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError("manifest file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read the manifest: {exc}", file=path) from None
    return parse_manifest(text, source=str(path), base_dir=path.resolve().parent)


def parse_manifest(text: str, *, source: str = INLINE_SOURCE, base_dir: Path | None = None) -> Manifest:
    """Validate manifest TOML text. ``base_dir`` (default: the working directory) is the
    folder relative paths resolve from; ``source`` names the text in errors."""
    base = (Path.cwd() if base_dir is None else Path(base_dir)).resolve()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"not valid TOML: {exc}", file=source) from None

    def get(key: str, kind: type, expected: str) -> Any:
        value = doc.get(key)
        if value is not None and not _is(value, kind):
            raise ManifestError(f"expected {expected}, got {_describe(value)}", file=source, field=key)
        return value

    name = get("name", str, "a string")
    if not name:
        raise ManifestError('missing; every manifest needs name = "..."', file=source, field="name")
    version = get("version", str, "a string") or DEFAULT_VERSION
    component = _component(doc, base, source)
    description = get("description", str, "a string")
    save_chain = bool(get("save_chain", bool, "a boolean (true or false)"))
    init_state = _init_state(doc.get("init_state"), base, source)
    current, older = doc.get("handler"), doc.get("handlers")
    if current is not None and older is not None:
        raise ManifestError(
            "both [[handler]] (current format) and [[handlers]] (older format) are present; "
            "keep one, preferably [[handler]] with each handler's config fields inline",
            file=source, field="handlers")
    if older is not None:
        handlers, era = _handler_specs(older, "handlers", source), "handlers"
    else:
        handlers = _handler_specs(current or [], "handler", source)
        only_old_path = "component_path" in doc and "component" not in doc and "package" not in doc
        era = "handlers" if current is None and only_old_path else "handler"
    return Manifest(
        name=name,
        component=component,
        version=version,
        description=description,
        save_chain=save_chain,
        init_state=init_state,
        handlers=handlers,
        source=source,
        base_dir=base,
        era=era,
        tables=MappingProxyType({k: v for k, v in doc.items() if k not in _FIELDS}),
    )


def _is(value: Any, kind: type) -> bool:
    """isinstance, except that a TOML boolean is not an integer."""
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def _describe(value: Any) -> str:
    """A TOML value for an error message: its kind and, for scalars, the value."""
    for kind, noun in ((bool, "the boolean"), (str, "the string"), (int, "the integer"),
                       (float, "the float")):
        if isinstance(value, kind):
            return f"{noun} {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"the date/time {value}"


def _component(doc: dict[str, Any], base: Path, source: str) -> Path:
    """The component path from ``component`` / ``component_path`` / ``package``."""
    given = [(key, doc[key]) for key in _COMPONENT_KEYS if key in doc]
    if not given:
        raise ManifestError('missing; give component = "path/to/actor.wasm" '
                            "(older manifests: component_path; newest Theater: package)",
                            file=source, field="component")
    for key, value in given:
        if not isinstance(value, str) or not value:
            raise ManifestError(f"expected a path string, got {_describe(value)}", file=source, field=key)
    first_key, first = given[0]
    for key, value in given[1:]:
        if (base / value).resolve() != (base / first).resolve():
            raise ManifestError(f'"{value}" disagrees with {first_key} = "{first}"; keep only {first_key}',
                                file=source, field=key)
    return (base / first).resolve()


def _handler_specs(entries: Any, key: str, source: str) -> tuple[HandlerSpec, ...]:
    """The handler tables of either era, validated."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ManifestError(f"expected an array of tables ([[{key}]]), got {_describe(entries)}",
                            file=source, field=key)
    known = ", ".join(HANDLER_TYPES)
    specs = []
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        handler_type = entry.get("type")
        if handler_type is None:
            raise ManifestError(f"missing; each [[{key}]] table needs type = one of: {known}",
                                file=source, field=f"{where}.type")
        if not isinstance(handler_type, str):
            raise ManifestError(f"expected a string (one of: {known}), got {_describe(handler_type)}",
                                file=source, field=f"{where}.type")
        if handler_type not in HANDLER_TYPES:
            what = ("is a Theater handler that theater-harness does not provide"
                    if handler_type in _THEATER_ONLY_TYPES else "is not a known handler type")
            raise ManifestError(f'"{handler_type}" {what}; known types: {known}',
                                file=source, field=f"{where}.type")
        if key == "handler":
            config = {k: v for k, v in entry.items() if k != "type"}
            extra: dict[str, Any] = {}
        else:
            config = entry.get("config", {})
            if not isinstance(config, dict):
                raise ManifestError(f"expected a table (e.g. config = {{}}), got {_describe(config)}",
                                    file=source, field=f"{where}.config")
            extra = {k: v for k, v in entry.items() if k not in ("type", "config")}
        specs.append(HandlerSpec(handler_type, MappingProxyType(config), MappingProxyType(extra)))
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
    if not isinstance(value, str):
        raise ManifestError("expected a path to a JSON file, inline JSON text, or a table, "
                            f"got {_describe(value)}", file=source, field="init_state")
    if value.lstrip()[:1] in ("{", "["):
        return _normalised_json(value, "the inline JSON", source)
    path = (base / value).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        raise ManifestError(f"cannot read the JSON file {path}: {reason}",
                            file=source, field="init_state") from None
    return _normalised_json(text, f"the JSON file {path}", source)


def _normalised_json(text: str, origin: str, source: str) -> bytes:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{origin} is not valid JSON: {exc.msg} at line {exc.lineno} "
                            f"column {exc.colno}", file=source, field="init_state") from None
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
