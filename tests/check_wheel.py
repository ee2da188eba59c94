#!/usr/bin/env python3
"""Check that a wheel of theater-harness works outside the source tree.

Builds a wheel from a clean copy of the checkout, installs it into a fresh venv, and
from a temporary folder (the checkout not on sys.path) runs the README's first test
(the ``# test_counter_tree.py`` block, taken from README.md as tests/test_readme.py
takes it) and its tests of the outside world under pytest, and ``theater-harness run`` on
copies of bundled scenarios with a copy of the bundled example actors beside them. Prints each command; exits 1 at
the first step that fails.

    python tests/check_wheel.py [--keep]     # --keep: leave the temporary folder

Run by .ci/run, with the test extra installed (it reads the README through
tests/test_readme.py); the normal test suite uses ``build_wheel`` and ``wheel_problems``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
FIRST_TEST = "# test_counter_tree.py"  # the first line of the README's first test
# The README's test files run in the wheel's venv: the first test; the outside world's
# (the world fixture, world_user); the store mutant caught by store_durability.
README_TESTS = ("test_counter_tree.py", "test_world_user.py", "test_store_durability.py")
SCENARIO = ROOT / "scenarios" / "one-for-one.scenario.toml"  # the one the README shows
PACKR_SCENARIO = ROOT / "scenarios" / "packr-one-for-all.scenario.toml"  # packr and component actors in one tree
WORLD_SCENARIO = ROOT / "scenarios" / "world-basics.scenario.toml"  # files, env, HTTP, a store
SCENARIOS = (SCENARIO, PACKR_SCENARIO, WORLD_SCENARIO)
EXAMPLES_IN_WHEEL = "theater_harness/example-actors/"
# What an install needs of the example actors, and what it must not get.
REQUIRED_SUFFIXES = (".toml", ".wasm")
FORBIDDEN_PREFIXES = ("tests/", "benchmarks/", "scenarios/")
FORBIDDEN_SUFFIXES = (".c", ".h", ".wit")


class Failed(Exception):
    """A step failed; the message says which and why."""


def source_files(root: Path = ROOT) -> list[str]:
    """The checkout's files as git sees them (tracked, and untracked but not ignored):
    what a fresh clone would hold, plus the work in progress."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=root, capture_output=True, check=True).stdout
    return sorted(name for name in out.decode().split("\0") if name)


def clean_copy(dest: Path, root: Path = ROOT) -> Path:
    """Copy the source tree into ``dest`` (symlinks as symlinks), without build/ or
    *.egg-info/ leftovers, whose stale files setuptools would otherwise ship."""
    for name in source_files(root):
        src, dst = root / name, dest / name
        if not src.is_symlink() and not src.exists():  # deleted in the work tree
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    return dest


def _has_build_backend(root: Path = ROOT) -> bool:
    """Whether this Python has the setuptools that pyproject's build-system requires, so
    that pip need not fetch it from an index."""
    requires = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    (needed,) = [int(m.group(1)) for r in requires if (m := re.fullmatch(r"setuptools>=(\d+)", r))]
    try:
        return int(metadata.version("setuptools").split(".")[0]) >= needed
    except (metadata.PackageNotFoundError, ValueError):
        return False


def build_wheel(out_dir: Path, root: Path = ROOT) -> Path:
    """Build a wheel of ``root`` (from a clean copy) into ``out_dir`` and return its path.
    Raises ``Failed`` with pip's output if the build fails."""
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out_dir)]
    if _has_build_backend(root):
        cmd.append("--no-build-isolation")  # no index needed
    with tempfile.TemporaryDirectory(prefix="theater-src-") as tmp:
        proc = subprocess.run([*cmd, str(clean_copy(Path(tmp) / "src", root))], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Failed(f"pip wheel failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    (wheel,) = out_dir.glob("theater_harness-*.whl")
    return wheel


def wheel_problems(wheel: Path, examples: Path) -> list[str]:
    """What is wrong with the wheel's file list: an example manifest or component of
    ``examples`` (the source folder) missing, or a file it must not ship."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    problems = [f"missing {EXAMPLES_IN_WHEEL}{p.name}" for p in sorted(examples.iterdir())
                if p.suffix in REQUIRED_SUFFIXES and f"{EXAMPLES_IN_WHEEL}{p.name}" not in names]
    problems += [f"should not ship {name}" for name in sorted(names)
                 if name.startswith(FORBIDDEN_PREFIXES) or name.endswith(FORBIDDEN_SUFFIXES)
                 or name == f"{EXAMPLES_IN_WHEEL}build.py"]
    return problems


def readme_test(first_line: str = FIRST_TEST) -> str:
    """A test file the README shows (by its first line), as tests/test_readme.py extracts it."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from test_readme import _block
    finally:
        sys.path.pop(0)
    return _block("python", first_line)


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``cmd``, echoing it and its output; raise ``Failed`` if it exits non-zero."""
    print(f"$ (cd {cwd} && {' '.join(cmd)})", flush=True)
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout, end="" if proc.stdout.endswith("\n") or not proc.stdout else "\n", flush=True)
    if proc.returncode != 0:
        raise Failed(f"exit {proc.returncode}: {' '.join(cmd)}")
    return proc.stdout


def check(tmp: Path) -> None:
    """Every step, in ``tmp``; raises ``Failed`` at the first that fails."""
    steps: list[tuple[str, float]] = []
    started = time.monotonic()

    def step(name: str) -> None:
        steps.append((name, time.monotonic()))
        print(f"\n== {name}", flush=True)

    step("build the wheel from a clean copy of the checkout")
    wheel = build_wheel(tmp / "dist")
    print(wheel.name)
    problems = wheel_problems(wheel, ROOT / "scenarios" / "actors")
    if problems:
        raise Failed("the wheel's file list: " + "; ".join(problems))
    with zipfile.ZipFile(wheel) as archive:
        examples = [name for name in archive.namelist() if name.startswith(EXAMPLES_IN_WHEEL)]
    print(f"{len(examples)} files under {EXAMPLES_IN_WHEEL}; no tests, benchmarks, C sources or build.py")

    step("install it, and pytest, into a fresh venv")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp)
    bin_dir = venv / "bin"
    # Nothing of the checkout or of the calling venv may leak into the installed package.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    python = str(bin_dir / "python")
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel), "pytest"],
         cwd=tmp, env=env)

    work = tmp / "work"
    work.mkdir()
    (work / "pytest.ini").write_text("[pytest]\n")  # this folder is the rootdir, whatever is above it
    step("import it from outside the checkout")
    where = _run([python, "-c", "import theater_harness, theater_harness.examples as e; "
                                "print(theater_harness.__file__); print(e.EXAMPLES)"], cwd=work, env=env).split()
    site = venv.resolve()
    if not all(Path(p).resolve().is_relative_to(site) for p in where):
        raise Failed(f"theater_harness was not imported from the venv {site}: {where}")

    step("the README's first test and its tests of the outside world (the world fixture), under pytest")
    tests = {name: readme_test(f"# {name}") for name in README_TESTS}
    for name, text in tests.items():
        (work / name).write_text(text, encoding="utf-8")
    _run([python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--theater-seed", "1", *tests], cwd=work, env=env)

    step("theater-harness run on copies of three bundled scenarios (packr and component actors in one tree; "
         "the outside world), the examples copied beside them")
    for scenario in SCENARIOS:
        shutil.copy(scenario, work / scenario.name)
    shutil.copytree(where[1], work / "actors")  # the scenarios name "actors/counter.toml", ...
    _run([str(bin_dir / "theater-harness"), "run", *(s.name for s in SCENARIOS)], cwd=work, env=env)

    steps.append(("end", time.monotonic()))
    print("\n== times")
    for (name, at), (_, end) in zip(steps, steps[1:]):
        print(f"{end - at:6.1f} s  {name}")
    print(f"{time.monotonic() - started:6.1f} s  in all")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keep", action="store_true", help="leave the temporary folder (its path is printed)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="theater-wheel-"))
    print(f"checking a wheel install in {tmp}", flush=True)
    try:
        check(tmp)
    except Failed as e:
        print(f"\nwheel check FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("wheel check ok: the README's tests and three bundled scenarios pass in a wheel install")
    return 0


if __name__ == "__main__":
    sys.exit(main())
