"""The bundled example actors ship inside the package: found through importlib.resources,
listed completely in pyproject's package-data, present in a built wheel, and named from
files outside the checkout as ``examples:<manifest>``."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import zipfile
from importlib import resources

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from check_wheel import EXAMPLES_IN_WHEEL, Failed, build_wheel, wheel_problems
from conftest import ACTORS, ROOT
from theater_harness import examples, load_manifest, parse_manifest, strategies, trees
from theater_harness.examples import EXAMPLES, resolve
from theater_harness.trees import NodeSpec, Policy

MANIFESTS = sorted(p.name for p in ACTORS.glob("*.toml"))


def shipped() -> list[str]:
    """What an install needs of scenarios/actors: every manifest, the component each names, the README."""
    return sorted({*MANIFESTS, *(load_manifest(ACTORS / name).component.name for name in MANIFESTS), "README.md"})


def package_data() -> list[str]:
    """The files of scenarios/actors that pyproject's package-data ships."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = [p.removeprefix("example-actors/")
                for p in pyproject["tool"]["setuptools"]["package-data"]["theater_harness"]]
    return sorted(p.name for p in ACTORS.iterdir() if any(fnmatch.fnmatch(p.name, pat) for pat in patterns))


def test_examples_is_scenarios_actors_in_a_checkout():
    assert EXAMPLES == ROOT / "scenarios" / "actors"


def test_examples_is_found_through_importlib_resources():
    assert (resources.files("theater_harness") / "example-actors").resolve() == EXAMPLES


def test_the_package_folder_is_a_symlink_to_the_one_copy():
    assert os.readlink(ROOT / "theater_harness" / "example-actors") == "../scenarios/actors"


def test_trees_and_strategies_use_the_bundled_examples():
    assert (trees.EXAMPLES, trees.SUPERVISOR_COMPONENT) == (EXAMPLES, EXAMPLES / "echo.wasm")
    assert (strategies.COUNTER, strategies.CRASHER) == (str(EXAMPLES / "counter.toml"), str(EXAMPLES / "crasher.toml"))


def test_a_generated_supervisor_runs_the_bundled_echo_component():
    manifest = parse_manifest(NodeSpec("root", policy=Policy()).manifest_text())
    assert manifest.component == EXAMPLES / "echo.wasm"


def test_the_public_surface():
    assert sorted(examples.__all__) == ["EXAMPLES", "PREFIX", "SUPERVISOR_COMPONENT", "resolve"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_manifest_names_a_component_beside_it(name):
    component = load_manifest(ACTORS / name).component
    assert (component.parent, component.is_file()) == (ACTORS, True)


def test_package_data_is_every_manifest_its_component_and_the_readme():
    assert package_data() == shipped()


def test_python_m_prints_the_folder():
    out = subprocess.run([sys.executable, "-m", "theater_harness.examples"], capture_output=True, text=True,
                         check=True).stdout
    assert out == f"{EXAMPLES}\n"


# --------------------------------------------------------------------------
# examples:<manifest> (for scenario files and trees outside the checkout)
# --------------------------------------------------------------------------

def test_the_prefix_names_a_bundled_example(tmp_path):
    assert resolve("examples:counter.toml", tmp_path) == EXAMPLES / "counter.toml"


def test_a_reference_without_the_prefix_is_relative_to_the_base(tmp_path):
    assert resolve("actors/counter.toml", tmp_path) == tmp_path / "actors" / "counter.toml"


def test_an_absolute_reference_stays(tmp_path):
    assert resolve("/srv/actors/counter.toml", tmp_path).as_posix() == "/srv/actors/counter.toml"


def test_without_a_base_a_reference_stays():
    assert resolve("actors/counter.toml").as_posix() == "actors/counter.toml"


def test_an_unknown_example_names_the_ones_there_are():
    with pytest.raises(ValueError) as info:
        resolve("examples:countr.toml")
    assert str(info.value) == ("no bundled example actor 'examples:countr.toml'; there are: "
                               + ", ".join(f"examples:{name}" for name in MANIFESTS))


def test_the_prefix_alone_is_an_unknown_example():
    with pytest.raises(ValueError, match="^no bundled example actor 'examples:'; there are: examples:ballast.toml, "):
        resolve("examples:")


# --------------------------------------------------------------------------
# A built wheel (tests/check_wheel.py installs one and runs it, in CI)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    try:
        return build_wheel(tmp_path_factory.mktemp("dist"))
    except Failed as e:
        if "No matching distribution found for setuptools" in str(e):
            pytest.skip("building a wheel needs setuptools>=77, which pip could not fetch from an index "
                        "(no network?); pip install 'setuptools>=77' to build without one")
        raise


def test_the_wheel_ships_the_examples_and_nothing_else_of_scenarios_actors(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = sorted(n.removeprefix(EXAMPLES_IN_WHEEL) for n in archive.namelist() if n.startswith(EXAMPLES_IN_WHEEL))
    assert names == shipped()


def test_the_wheel_has_no_tests_benchmarks_sources_or_build_script(wheel):
    assert wheel_problems(wheel, ACTORS) == []


def test_ci_checks_a_wheel_install():
    assert "python tests/check_wheel.py\n" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_a_scenario_file_names_a_bundled_example(tmp_path):
    from theater_harness.scenario import load_scenario
    path = tmp_path / "x.scenario.toml"
    path.write_text('[[actor]]\nname = "c"\nmanifest = "examples:counter.toml"\n', encoding="utf-8")
    assert load_scenario(path).actors[0].manifest == EXAMPLES / "counter.toml"


def test_a_tree_names_a_bundled_example(tmp_path):
    tree = trees.tree_from({"name": "c", "manifest": "examples:counter.toml"}, base_dir=tmp_path)
    assert tree.root.manifest == str(EXAMPLES / "counter.toml")
