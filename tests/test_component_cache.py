"""The on-disk cache of compiled components: keyed, atomic, shared between processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from conftest import ACTORS, ROOT
from theater_harness.wasm import _engine

WASM = (ACTORS / "counter.wasm").read_bytes()
DIGEST = hashlib.sha256(WASM).hexdigest()


def test_a_compiled_component_is_cached_by_its_hash_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(tmp_path))
    _, digest, hit = _engine.load_component(WASM, "counter.wasm")
    assert (digest, hit) == (DIGEST, False)
    artifacts = [p.name for p in tmp_path.glob("*.cwasm")]
    assert artifacts == [f"{_engine.cache_key(DIGEST)}.cwasm"]
    _, _, hit = _engine.load_component(WASM, "elsewhere/counter.wasm")
    assert hit is True


def test_the_key_covers_the_wasmtime_version_and_the_engine_config(monkeypatch):
    key = _engine.cache_key(DIGEST)
    assert key.startswith(DIGEST + "-")
    monkeypatch.setattr(_engine, "ENGINE_CONFIG", _engine.ENGINE_CONFIG + ";other")
    assert _engine.cache_key(DIGEST) != key
    monkeypatch.undo()
    monkeypatch.setattr(_engine, "WASMTIME_VERSION", "0.0.0")
    assert _engine.cache_key(DIGEST) != key


def test_a_corrupted_artifact_is_recompiled_over(tmp_path, monkeypatch):
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(tmp_path))
    _engine.load_component(WASM, "counter.wasm")
    (artifact,) = tmp_path.glob("*.cwasm")
    artifact.write_bytes(b"garbage")
    _, _, hit = _engine.load_component(WASM, "counter.wasm")
    assert hit is False
    _, _, hit = _engine.load_component(WASM, "counter.wasm")
    assert hit is True


def test_an_unwritable_cache_falls_back_to_compiling(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(blocker / "cache"))
    component, _, hit = _engine.load_component(WASM, "counter.wasm")
    assert component is not None and hit is False


def test_processes_sharing_a_cache_compile_once_and_leave_no_temporary_files(tmp_path):
    script = ("import sys; sys.path.insert(0, sys.argv[1]); from theater_harness.wasm import _engine; "
              "data = open(sys.argv[2], 'rb').read(); print(_engine.load_component(data, 'c')[2])")
    env = {**os.environ, "THEATER_HARNESS_CACHE": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(ROOT), str(ACTORS / "counter.wasm")],
                              env=env, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    hits = sorted(p.communicate()[0].strip() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert hits == ["False", "True", "True", "True"]  # the lock makes the others wait, then load
    assert [p.suffix for p in tmp_path.iterdir() if p.suffix != ".lock"] == [".cwasm"]
