"""The example actors that ship with theater-harness: their Theater manifests and built
components, in a folder on disk in any install (editable, wheel, ``pip install <path>``).

    from theater_harness.examples import EXAMPLES
    counter = runtime.spawn(EXAMPLES / "counter.toml")

In the source tree the package's ``example-actors`` is a symlink to ``scenarios/actors``,
where the C sources are and ``build.py`` builds the ``.wasm`` files (one copy in git); a
wheel holds a copy of its manifests and components (pyproject's ``package-data``). Both
are found the same way, through ``importlib.resources``. A file elsewhere names one as
``examples:<manifest>``, which ``resolve`` turns into its path. ``python -m
theater_harness.examples`` prints the folder.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["EXAMPLES", "PREFIX", "SUPERVISOR_COMPONENT", "resolve"]

# Not an identifier, so that Python cannot import the folder as a subpackage and setuptools
# does not warn that it looks like one; pyproject's packages.find excludes it, so the wheel
# holds exactly the files its package-data lists (not build.py).
_FOLDER = "example-actors"


def _examples() -> Path:
    folder = resources.files("theater_harness") / _FOLDER
    if not isinstance(folder, Path):  # e.g. a package imported from a zip file
        raise ImportError(f"theater_harness's example actors must be files on disk, not {folder}: "
                          "install theater-harness with pip")
    return folder.resolve()  # in a source tree, scenarios/actors itself


EXAMPLES: Path = _examples()
"""The folder of the example actors: ``counter.toml``, ``crasher.toml``, ``echo.wasm``, ..."""

SUPERVISOR_COMPONENT: Path = EXAMPLES / "echo.wasm"
"""The component of every generated (declarative) supervisor: it needs no code, its policy is declared."""

PREFIX = "examples:"


def resolve(reference: str | Path, base: str | Path | None = None) -> Path:
    """The file a manifest reference written in a file names: ``examples:counter.toml`` is
    the bundled example ``EXAMPLES / "counter.toml"``; anything else is relative to ``base``
    (the folder of the file it is written in; without one, or for an absolute path, it stays
    as it is). An unknown example raises ``ValueError`` naming the ones there are."""
    text = str(reference)
    if not text.startswith(PREFIX):
        return Path(text) if base is None else Path(base) / text
    name = text[len(PREFIX):]
    path = EXAMPLES / name
    if not name or not path.is_file():
        known = ", ".join(f"{PREFIX}{p.name}" for p in sorted(EXAMPLES.glob("*.toml")))
        raise ValueError(f"no bundled example actor {text!r}; there are: {known}")
    return path


if __name__ == "__main__":
    print(EXAMPLES)
