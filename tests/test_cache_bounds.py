"""The compiled-component cache is bounded: a size cap, least-recently-used eviction that
is safe with several processes, a cache that cannot be written never breaks a run, and
``theater-harness cache info`` / ``cache prune`` show and trim it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from conftest import ACTORS, ROOT
from theater_harness.cli import main
from theater_harness.wasm import _cache, _engine

WASM = (ACTORS / "counter.wasm").read_bytes()
KEY = _engine.cache_key(hashlib.sha256(WASM).hexdigest())
FP = _engine.fingerprint()
DAY = 86_400


@pytest.fixture(scope="module")
def artifact_size() -> int:
    """How big the counter's compiled artifact is with this wasmtime."""
    return len(_engine._compile(WASM, "counter.wasm").serialize())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(folder))
    monkeypatch.delenv("THEATER_HARNESS_CACHE_MAX", raising=False)
    return folder


def entry(folder, digit: str, size: int, last_use_s: int, fingerprint: str = FP):
    """A fake entry of ``size`` bytes last used at ``last_use_s`` (seconds since 1970)."""
    path = folder / f"{digit * 64}-{fingerprint}.cwasm"
    path.write_bytes(b"\0" * size)
    os.utime(path, (last_use_s, last_use_s))
    return path


def names(folder) -> list[str]:
    return [e.key[:1] if e.key != KEY else "counter" for e in _cache.entries(folder)]


# --- the cap ------------------------------------------------------------------------


@pytest.mark.parametrize("setting, cap", [
    (None, 512 << 20), ("", 512 << 20), ("1000", 1000), ("64K", 64 << 10), ("512M", 512 << 20), ("2GiB", 2 << 30),
    ("1.5g", 3 << 29), ("0", None),
])
def test_the_cap_is_512_mib_unless_the_environment_says_otherwise(monkeypatch, setting, cap):
    if setting is None:
        monkeypatch.delenv("THEATER_HARNESS_CACHE_MAX", raising=False)
    else:
        monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", setting)
    assert _cache.cap() == cap


def test_a_bad_cap_fails_naming_the_variable_and_the_accepted_forms(cache, monkeypatch):
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", "lots")
    with pytest.raises(_cache.CacheError) as info:
        _engine.load_component(WASM, "counter.wasm")
    assert str(info.value) == ("THEATER_HARNESS_CACHE_MAX: 'lots' is not a size; give bytes or a number with K, M or G "
                               "(512M, 2G), or 0 for no cap")


# --- eviction ---------------------------------------------------------------------------


def test_a_write_over_the_cap_evicts_the_least_recently_used_entries(cache, monkeypatch, artifact_size):
    entry(cache, "a", 10_000, 1 * DAY)
    entry(cache, "b", 10_000, 2 * DAY)
    entry(cache, "c", 10_000, 3 * DAY)
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", str(artifact_size + 15_000))
    _engine.load_component(WASM, "counter.wasm")
    assert names(cache) == ["counter", "c"]  # a, then b went; c and the new entry fit


def test_under_the_cap_nothing_is_evicted(cache, monkeypatch, artifact_size):
    entry(cache, "a", 10_000, 1 * DAY)
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", str(artifact_size + 10_000))
    _engine.load_component(WASM, "counter.wasm")
    assert names(cache) == ["counter", "a"]


def test_a_cache_hit_makes_an_entry_the_most_recently_used(cache, monkeypatch, artifact_size):
    _engine.load_component(WASM, "counter.wasm")
    os.utime(cache / f"{KEY}.cwasm", (1 * DAY, 1 * DAY))
    entry(cache, "b", 10_000, 2 * DAY)
    assert names(cache) == ["b", "counter"]
    _, _, hit = _engine.load_component(WASM, "counter.wasm")
    assert hit is True and names(cache) == ["counter", "b"]


def test_the_entry_just_written_is_kept_even_when_it_alone_exceeds_the_cap(cache, monkeypatch):
    entry(cache, "a", 10_000, 1 * DAY)
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", "1000")
    _engine.load_component(WASM, "counter.wasm")
    assert names(cache) == ["counter"]


def test_no_cap_never_evicts(cache, monkeypatch):
    entry(cache, "a", 10_000, 1 * DAY)
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", "0")
    _engine.load_component(WASM, "counter.wasm")
    assert names(cache) == ["counter", "a"]


def test_entries_of_another_engine_are_evicted_by_age_like_any_other(cache, monkeypatch, artifact_size):
    entry(cache, "a", 10_000, 1 * DAY, fingerprint="0" * 16)
    entry(cache, "b", 10_000, 2 * DAY)
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", str(artifact_size + 10_000))
    _engine.load_component(WASM, "counter.wasm")
    assert names(cache) == ["counter", "b"]


def test_processes_writing_at_once_leave_the_cache_within_its_cap(cache, artifact_size):
    """Four processes each compile and write two components (eight entries, 230-420 KiB in
    all) under a 150 KiB cap: every load succeeds, and after the last eviction the cache
    is within its cap."""
    script = ("import sys; sys.path.insert(0, sys.argv[1]); from theater_harness.wasm import _engine; "
              "[_engine.load_component(open(p, 'rb').read(), p) for p in sys.argv[2:]]; print('ok')")
    env = {**os.environ, "THEATER_HARNESS_CACHE": str(cache), "THEATER_HARNESS_CACHE_MAX": "150K"}
    pairs = [("counter", "echo"), ("pinger", "crasher"), ("keeper", "sleeper"), ("hog", "looper")]
    procs = [subprocess.Popen([sys.executable, "-c", script, str(ROOT), *(str(ACTORS / f"{n}.wasm") for n in pair)],
                              env=env, stdout=subprocess.PIPE, text=True) for pair in pairs]
    assert [p.communicate()[0] for p in procs] == ["ok\n"] * 4
    assert sum(e.size for e in _cache.entries(cache)) <= 150 << 10
    assert [p.name for p in cache.iterdir() if p.suffix not in (".cwasm", ".lock")] == []


def test_an_entry_evicted_under_a_reader_is_compiled_again(cache, monkeypatch):
    _engine.load_component(WASM, "counter.wasm")
    real = _engine.Component.deserialize_file

    def evicted_first(engine, path):
        if os.path.exists(path):
            os.unlink(path)  # another process evicts it just before this process loads it
        return real(engine, path)

    monkeypatch.setattr(_engine.Component, "deserialize_file", evicted_first)
    component, _, hit = _engine.load_component(WASM, "counter.wasm")
    assert component is not None and hit is False


# --- a cache that cannot be written ------------------------------------------------------


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("theater_harness")]


def test_a_cache_folder_that_cannot_be_made_warns_once_and_compiles_in_memory(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(blocker / "cache"))
    for name in ("counter", "echo", "counter"):
        component, _, hit = _engine.load_component((ACTORS / f"{name}.wasm").read_bytes(), f"{name}.wasm")
        assert component is not None and hit is False
    assert warnings_of(caplog) == [
        f"theater-harness: cannot write the compiled-component cache: {blocker / 'cache'}: Not a directory; components "
        "are compiled in memory (set THEATER_HARNESS_CACHE to a writable folder)"]


def test_a_failed_write_keeps_the_compiled_component_and_names_the_file(cache, monkeypatch, caplog):
    compiles = []
    real_compile = _engine._compile
    monkeypatch.setattr(_engine, "_compile",
                        lambda wasm, source, core=False: compiles.append(source) or real_compile(wasm, source, core))

    def full(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(_cache, "write_atomically", full)
    component, _, hit = _engine.load_component(WASM, "counter.wasm")
    assert component is not None and hit is False and compiles == ["counter.wasm"]
    assert warnings_of(caplog) == [
        f"theater-harness: cannot write the compiled-component cache: {cache / (KEY + '.cwasm')}: No space left on "
        "device; components are compiled in memory (set THEATER_HARNESS_CACHE to a writable folder)"]


def test_a_lock_that_cannot_be_opened_does_not_break_the_load(cache, caplog):
    (cache / f"compile-{KEY[0]}.lock").mkdir()  # cannot be opened as a file
    component, _, hit = _engine.load_component(WASM, "counter.wasm")
    assert component is not None and hit is False
    assert warnings_of(caplog) == [
        f"theater-harness: cannot write the compiled-component cache: {cache / f'compile-{KEY[0]}.lock'}: Is a "
        "directory; components are compiled in memory (set THEATER_HARNESS_CACHE to a writable folder)"]


# --- theater-harness cache info / prune ------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_cache_info_lists_where_how_many_how_big_the_cap_and_each_entry(cache, capsys):
    entry(cache, "a", 2_000_000, 1_700_000_000)
    entry(cache, "b", 500, 1_700_086_400, fingerprint="0" * 16)
    status, out, _ = run(capsys, "cache", "info")
    assert status == 0
    assert out.splitlines() == [
        f"compiled-component cache: {cache}",
        "2 entries, 1.9 MiB; cap 512.0 MiB (the default; THEATER_HARNESS_CACHE_MAX sets it)",
        "  last use (UTC)       size     wasm sha256       engine",
        "  2023-11-15 22:13:20  500 B    bbbbbbbbbbbbbbbb  other (another wasmtime version or engine configuration)",
        "  2023-11-14 22:13:20  1.9 MiB  aaaaaaaaaaaaaaaa  current",
    ]


def test_cache_info_shows_the_cap_the_environment_sets(cache, capsys, monkeypatch):
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", "2G")
    _, out, _ = run(capsys, "cache", "info")
    assert out.splitlines()[1] == "0 entries, 0 B; cap 2.0 GiB (THEATER_HARNESS_CACHE_MAX=2G)"


def test_cache_info_of_a_cache_not_made_yet(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(tmp_path / "none"))
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", "0")
    status, out, _ = run(capsys, "cache", "info")
    assert status == 0
    assert out == f"compiled-component cache: {tmp_path / 'none'} (not created yet)\n0 entries, 0 B; no cap " \
                  "(THEATER_HARNESS_CACHE_MAX=0)\n"


def test_cache_info_on_a_path_that_is_a_file_exits_2_naming_it(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(blocker))
    status, _, err = run(capsys, "cache", "info")
    assert status == 2
    assert err == f"error: {blocker}: cannot read the compiled-component cache: Not a directory\n"


def test_cache_prune_to_a_size_removes_the_least_recently_used(cache, capsys):
    entry(cache, "a", 3000, 1 * DAY)
    entry(cache, "b", 2000, 2 * DAY)
    entry(cache, "c", 1000, 3 * DAY)
    status, out, _ = run(capsys, "cache", "prune", "--max-bytes", "3500")
    assert status == 0
    assert out == (f"removed 1 entry (2.9 KiB) from {cache}; 2 left, 2.9 KiB; "
                   "cap 512.0 MiB (the default; THEATER_HARNESS_CACHE_MAX sets it)\n")
    assert names(cache) == ["c", "b"]


def test_cache_prune_without_a_size_prunes_to_the_cap(cache, capsys, monkeypatch):
    entry(cache, "a", 3000, 1 * DAY)
    entry(cache, "b", 2000, 2 * DAY)
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", "2K")
    status, out, _ = run(capsys, "cache", "prune")
    assert status == 0 and out.startswith("removed 1 entry (2.9 KiB) ")
    assert names(cache) == ["b"]


def test_cache_prune_all_removes_every_entry_and_old_lock_files(cache, capsys):
    entry(cache, "a", 3000, 1 * DAY)
    (cache / f"{'a' * 64}-{FP}.lock").write_text("")  # one lock per key, from before the stripes
    (cache / "compile-a.lock").write_text("")
    status, out, _ = run(capsys, "cache", "prune", "--all")
    assert status == 0 and out.startswith(f"removed 1 entry (2.9 KiB) from {cache}; 0 left, 0 B; cap ")
    assert sorted(p.name for p in cache.iterdir()) == ["compile-a.lock", "evict.lock"]


def test_cache_prune_removes_temporary_files_left_an_hour_ago_or_more(cache, capsys):
    old = cache / f"{KEY}.cwasmx1.tmp"
    old.write_bytes(b"half an artifact")
    os.utime(old, (1 * DAY, 1 * DAY))
    fresh = cache / f"{KEY}.cwasmx2.tmp"
    fresh.write_bytes(b"being written")  # now: another process may be writing it
    run(capsys, "cache", "prune")
    assert sorted(p.name for p in cache.iterdir()) == sorted(["evict.lock", fresh.name])


def test_cache_prune_of_a_cache_not_made_yet_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(tmp_path / "none"))
    status, out, _ = run(capsys, "cache", "prune", "--all")
    assert status == 0 and out == f"nothing to prune: {tmp_path / 'none'} does not exist\n"


def test_cache_prune_refuses_a_size_that_is_not_one(cache, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["cache", "prune", "--max-bytes", "much"])
    assert exit_.value.code == 2
    assert ("argument --max-bytes: 'much' is not a size; give bytes or a number with K, M or G (512M, 2G)"
            in capsys.readouterr().err)


def test_cache_prune_that_cannot_remove_exits_2_naming_the_file(cache, capsys, monkeypatch):
    entry(cache, "a", 3000, 1 * DAY)

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(_cache.Path, "unlink", refuse)
    status, _, err = run(capsys, "cache", "prune", "--all")
    assert status == 2
    assert err == (f"error: {cache / ('a' * 64 + '-' + FP + '.cwasm')}: cannot prune the compiled-component cache: "
                   "Permission denied\n")
