"""Bad input gets a clear error naming the file, the field and what would be valid."""

from __future__ import annotations

import re

import pytest
import wasmtime

from conftest import ACTORS, manifest
from theater_harness import ManifestError, Runtime, SpawnError

HANDLERS = '\n[[handler]]\ntype = "runtime"\n\n[[handler]]\ntype = "message-server"\n'


def _manifest(tmp_path, component: str, extra: str = HANDLERS):
    path = tmp_path / "actor.toml"
    path.write_text(f'name = "actor"\ncomponent = "{component}"\n{extra}')
    return path


def _component(tmp_path, wat: str):
    path = tmp_path / "c.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path


def test_a_missing_manifest_file(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ManifestError, match=re.escape(f"{missing}: manifest file not found")):
        Runtime().spawn(missing)


def test_a_manifest_that_is_not_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\ncomponent = \n')
    with pytest.raises(ManifestError, match=re.escape(f"{path}: not valid TOML: ") + ".*line 2"):
        Runtime().spawn(path)


def test_an_unknown_handler_type_lists_the_known_ones(tmp_path):
    path = _manifest(tmp_path, "x.wasm", '[[handler]]\ntype = "runtime"\n\n[[handler]]\ntype = "teleport"\n')
    with pytest.raises(ManifestError) as info:
        Runtime().spawn(path)
    message = str(info.value)
    assert message.startswith(f"{path}: field 'handler[1].type': ")
    assert "'teleport'" in message or '"teleport"' in message
    assert "runtime, message-server, supervisor, timing, random, store" in message


def test_a_missing_component(tmp_path):
    path = _manifest(tmp_path, "missing.wasm")
    with pytest.raises(SpawnError, match=re.escape(
            f"{path}: field 'component': {tmp_path / 'missing.wasm'}: actor file not found")):
        Runtime().spawn(path)


def test_a_component_that_is_not_wasm(tmp_path):
    (tmp_path / "notes.wasm").write_text("just text")
    path = _manifest(tmp_path, "notes.wasm")
    with pytest.raises(SpawnError, match=re.escape(
            "notes.wasm: not a WebAssembly file (it does not start with the \\0asm magic bytes)")):
        Runtime().spawn(path)


def test_a_core_module_that_is_not_a_packr_actor(tmp_path):
    (tmp_path / "core.wasm").write_bytes(wasmtime.wat2wasm("(module)"))
    path = _manifest(tmp_path, "core.wasm")
    with pytest.raises(SpawnError, match=re.escape(
            "core.wasm: is a core wasm module but not a packr actor: it does not export __pack_types "
            "(a component-model actor must be a component: wrap it with `wasm-tools component new`)")):
        Runtime().spawn(path)


def test_a_component_importing_an_interface_the_harness_does_not_provide(tmp_path):
    _component(tmp_path, '(component (import "wasi:cli/stdout@0.2.0" (instance (export "x" (func)))))')
    path = _manifest(tmp_path, "c.wasm")
    with pytest.raises(SpawnError, match=re.escape(
            "c.wasm: imports 'wasi:cli/stdout@0.2.0', which theater-harness does not provide "
            "(it provides theater:simple/runtime, theater:simple/message-server-host, theater:simple/supervisor, "
            "theater:simple/timing, theater:simple/random, theater:simple/store, theater:simple/filesystem, "
            "theater:simple/environment, theater:simple/http-types, theater:simple/http-client)")):
        Runtime().spawn(path)


def test_a_component_that_is_not_an_actor(tmp_path):
    _component(tmp_path, "(component)")
    path = _manifest(tmp_path, "c.wasm")
    with pytest.raises(SpawnError, match=re.escape(
            "c.wasm: does not export 'theater:simple/actor' with an 'init' function; every Theater actor must")):
        Runtime().spawn(path)


def test_an_import_with_the_wrong_signature_shows_both(tmp_path):
    _component(tmp_path, '''(component
      (import "theater:simple/runtime" (instance (export "log" (func (param "n" u32)))))
    )''')
    path = _manifest(tmp_path, "c.wasm")
    with pytest.raises(SpawnError, match=re.escape(
            "import 'theater:simple/runtime' function 'log' has type func(u32), "
            "but theater:simple defines func(string)")):
        Runtime().spawn(path)


def test_the_same_component_from_another_folder_is_one_cache_entry(tmp_path):
    copy = tmp_path / "counter.wasm"
    copy.write_bytes((ACTORS / "counter.wasm").read_bytes())
    path = _manifest(tmp_path, "counter.wasm")
    rt = Runtime()
    a, b = rt.spawn(path), rt.spawn(manifest("counter"))
    assert rt.ask(a, "inc") == rt.ask(b, "inc") == b"1"


def test_bad_input_leaves_the_runtime_usable(tmp_path):
    rt = Runtime()
    counter = rt.spawn(manifest("counter"))
    with pytest.raises(ManifestError):
        rt.spawn(tmp_path / "missing.toml")
    assert rt.ask(counter, "inc") == b"1"
    assert [a.name for a in rt.actors] == ["counter"]


def test_spawning_under_a_stopped_parent_is_refused_and_names_the_parent():
    rt = Runtime()
    parent = rt.spawn(manifest("counter"), name="gone")
    rt.stop(parent)
    with pytest.raises(SpawnError, match=re.escape(
            f"cannot spawn 'counter' under gone ({parent}): the parent is not running, it is stopped")):
        rt.spawn(manifest("counter"), parent=parent)
    assert [a.name for a in rt.actors] == ["gone"]  # nothing half-spawned was left behind
