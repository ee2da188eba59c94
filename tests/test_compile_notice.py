"""A compile that takes a second or more says so in one line; a quicker one says nothing.

The compile time comes from an injected clock (``_engine._clock``), so nothing here sleeps
or depends on how fast this machine compiles."""

from __future__ import annotations

import logging

import pytest

from conftest import ACTORS, manifest
from theater_harness import Runtime, wasm
from theater_harness.cli import main
from theater_harness.wasm import _engine

WASM = (ACTORS / "counter.wasm").read_bytes()  # 12,056 bytes: 11.8 KiB


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """A fresh cache folder, and no component loaded yet in this process."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(cache))
    monkeypatch.setattr(wasm, "_LOADED", {})
    return cache


def compile_takes(monkeypatch, seconds: float) -> None:
    """Each compile from now on appears to take ``seconds`` on the notice's clock."""
    ticks = iter(x for start in range(0, 10_000, 100) for x in (float(start), start + seconds))
    monkeypatch.setattr(_engine, "_clock", lambda: next(ticks))


def notices(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("theater_harness")]


def test_a_compile_of_a_second_or_more_logs_one_line_naming_file_size_time_and_cache(
        empty_cache, monkeypatch, caplog):
    compile_takes(monkeypatch, 14.2)
    _engine.load_component(WASM, str(ACTORS / "counter.wasm"))
    assert notices(caplog) == [f"theater-harness: compiled counter.wasm (11.8 KiB) in 14.2 s, cached in {empty_cache}"]
    assert caplog.records[0].levelno == logging.WARNING


def test_a_compile_under_a_second_logs_nothing(empty_cache, monkeypatch, caplog):
    compile_takes(monkeypatch, 0.99)
    _, _, hit = _engine.load_component(WASM, "counter.wasm")
    assert hit is False and notices(caplog) == []


def test_a_cache_hit_logs_nothing(empty_cache, monkeypatch, caplog):
    _engine.load_component(WASM, "counter.wasm")
    compile_takes(monkeypatch, 30.0)
    _, _, hit = _engine.load_component(WASM, "counter.wasm")
    assert hit is True and notices(caplog) == []


def test_the_threshold_is_a_setting(empty_cache, monkeypatch, caplog):
    monkeypatch.setattr(_engine, "NOTICE_AFTER_S", 0.5)
    compile_takes(monkeypatch, 0.5)
    _engine.load_component(WASM, "counter.wasm")
    assert notices(caplog) == [f"theater-harness: compiled counter.wasm (11.8 KiB) in 0.5 s, cached in {empty_cache}"]


def test_a_compile_without_the_cache_says_it_was_not_cached(empty_cache, monkeypatch, caplog):
    compile_takes(monkeypatch, 2.0)
    _engine.load_component(WASM, "counter.wasm", use_cache=False)
    assert notices(caplog) == ["theater-harness: compiled counter.wasm (11.8 KiB) in 2.0 s, not cached (use_cache=False)"]


def test_the_notice_shows_the_home_folder_as_a_tilde(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("THEATER_HARNESS_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    compile_takes(monkeypatch, 3.0)
    _engine.load_component(WASM, "counter.wasm")
    assert notices(caplog) == ["theater-harness: compiled counter.wasm (11.8 KiB) in 3.0 s, "
                               "cached in ~/.cache/theater-harness/components"]


def test_the_notice_does_not_change_the_trace(empty_cache, monkeypatch, caplog):
    def run() -> str:
        rt = Runtime(seed=4)
        counter = rt.spawn(manifest("counter"))
        rt.send(counter, "inc")
        rt.run_until_idle()
        return rt.trace.to_json()

    monkeypatch.setattr(_engine, "NOTICE_AFTER_S", 0.0)  # every compile gets its line
    noticed = run()
    assert len(notices(caplog)) == 1
    monkeypatch.setattr(wasm, "_LOADED", {})
    assert run() == noticed  # the second run loads from the cache, silently


def test_the_command_prints_the_notice_on_stderr(empty_cache, monkeypatch, capsys):
    compile_takes(monkeypatch, 14.2)
    status = main(["run", str(manifest("counter"))])
    out = capsys.readouterr()
    assert status == 0
    assert out.err == f"theater-harness: compiled counter.wasm (11.8 KiB) in 14.2 s, cached in {empty_cache}\n"
    assert "compiled" not in out.out
