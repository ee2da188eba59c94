"""The 12 public packr binaries behave as their README documents, hosted by theater-harness.

They are packr's own test packages (none is a full Theater actor): the codec, the calling
convention, both module shapes, host imports and interface hashes are checked against
them. Packages without ``theater:simple/actor.init`` are called the way packr's own host
calls them (``call_raw``: the value is the whole input, no state); the two that export it
run as actors in a Runtime. Skipped when the fixtures folder is absent.
"""

from __future__ import annotations

import pytest

from theater_harness import Runtime
from theater_harness.errors import SpawnError
from theater_harness.values import NONE, Bytes, List, Record, S32, S64, String, Tuple, Variant
from theater_harness.wasm import load_component
from theater_harness.wasm.packr.instance import PackrCallError
from theater_harness.wasm.packr.module import FIXED_BASE, SELF_CONTAINED

from packr_blob import FIXTURES

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"the packr fixtures folder {FIXTURES} is absent")


class Host:
    """A dispatch for incarnations made outside a Runtime: ``runtime.log`` is kept,
    ``math.double`` doubles (or answers ``mock``)."""

    def __init__(self, double=lambda n: S64(2 * n)):
        self.logs: list[str] = []
        self.calls: list[tuple] = []
        self.double = double

    def __call__(self, incarnation, imp, args):
        self.calls.append((imp.full_interface, imp.function, tuple(args)))
        if (imp.interface, imp.function) == ("runtime", "log"):
            self.logs.append(args[0])
            return None
        if (imp.full_interface, imp.function) == ("math", "double"):
            return self.double(args[0])
        raise AssertionError(f"unexpected host call {imp.full_interface}.{imp.function}")


def incarnate(name: str, host: Host | None = None):
    module = load_component(FIXTURES / name)
    return module, module.incarnate(None, host or Host(), fuel=50_000_000, memory_cap=64 << 20)


SHAPES = {
    "adder_fixedbase.wasm": FIXED_BASE, "adder_package.wasm": SELF_CONTAINED,
    "bigrodata_fixedbase.wasm": FIXED_BASE, "doubler_fixedbase.wasm": FIXED_BASE,
    "doubler_package.wasm": SELF_CONTAINED, "echo_package.wasm": SELF_CONTAINED,
    "host_actor_fixedbase.wasm": FIXED_BASE, "lifecycle_actor_fixedbase.wasm": FIXED_BASE,
    "math_mock_fixedbase.wasm": FIXED_BASE, "math_real_fixedbase.wasm": FIXED_BASE,
    "sexpr_package.wasm": SELF_CONTAINED,
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_loads_with_its_shape(name):
    assert load_component(FIXTURES / name).shape == SHAPES[name]


def test_echo_returns_any_value_unchanged():
    _, inc = incarnate("echo_package.wasm")
    mixed = List(b"\x06", [String("a"), S64(-7), Bytes(b"\x00\x01"), Tuple([S32(1), String("x")]),
                           Record("point", {"x": S32(1), "y": S32(-2)}), Variant("expr", "leaf", 3, (S64(9),)),
                           NONE])
    for value in (S64(5), String("héllo"), Bytes(bytes(range(256))), mixed, Tuple(())):
        assert inc.call_raw("echo", value) == value
    assert inc.call_raw("transform", S64(21)) == S64(42)


@pytest.mark.parametrize("name", ["doubler_package.wasm", "doubler_fixedbase.wasm", "math_real_fixedbase.wasm"])
def test_doublers_double_an_s64(name):
    _, inc = incarnate(name)
    assert inc.call_raw("double", S64(21)) == 42
    assert inc.call_raw("double", S64(5)) == 10
    assert inc.call_raw("double", S64(20)) == 40


def test_doubler_passes_other_values_through():
    _, inc = incarnate("doubler_package.wasm")
    assert inc.call_raw("double", String("x")) == String("x")


def test_math_mock_always_answers_100():
    _, inc = incarnate("math_mock_fixedbase.wasm")
    assert [inc.call_raw("double", S64(n)) for n in (5, 20, -3)] == [100, 100, 100]


@pytest.mark.parametrize("name", ["adder_package.wasm", "adder_fixedbase.wasm"])
def test_adders_call_the_hosts_double_and_add_one(name):
    host = Host()
    _, inc = incarnate(name, host)
    assert inc.call_raw("process", S64(5)) == 11
    assert host.calls == [("math", "double", (S64(5),))]


def test_host_actor_logs_and_uses_double():
    host = Host()
    _, inc = incarnate("host_actor_fixedbase.wasm", host)
    assert inc.call_raw("process", S64(5)) == 11
    assert inc.call_raw("process", S64(20)) == 41
    assert host.logs == ["host-actor: processing", "host-actor: processing"]


def test_a_host_error_in_an_import_is_a_clear_failure():
    def broken(n):
        raise ValueError("no doubling today")

    _, inc = incarnate("adder_package.wasm", Host(double=broken))
    with pytest.raises(PackrCallError, match="host-error.*no doubling today"):
        inc.call_raw("process", S64(5))


def test_the_logger_packages_raw_abi_is_refused_by_name():
    with pytest.raises(Exception, match=r"imports host\.log with signature \(i32, i32\) -> \(\), not the packr "
                                        r"calling convention"):
        load_component(FIXTURES / "logger_package.wasm")


# --- the two actors, in a Runtime ---------------------------------------------------------

def manifest(tmp_path, name: str, package: str, extra: str = "") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\nversion = "0.1.0"\npackage = "{FIXTURES / package}"\n{extra}')
    return str(path)


def double(n):
    return n * 2


def test_lifecycle_actor_inits_from_a_typed_state(tmp_path):
    rt = Runtime(seed=1, host_functions={"math.double": double})
    for start, expected in ((5, 11), (20, 41)):
        actor = rt.spawn(manifest(tmp_path, "lifecycle", "lifecycle_actor_fixedbase.wasm"), init_state=S64(start))
        view = rt.actor(actor)
        assert view.status == "running"
        assert view.state.value == S64(expected)
        assert view.logs == ["lifecycle-actor: init"]


def test_lifecycle_actor_returns_theaters_default_state_unchanged(tmp_path):
    rt = Runtime(seed=1, host_functions={"math.double": double})
    actor = rt.actor(rt.spawn(manifest(tmp_path, "lifecycle", "lifecycle_actor_fixedbase.wasm")))
    assert actor.state.value.value is None and actor.state.value.inner_tag == b"\x07\x0c"


def test_an_import_nobody_supplies_is_refused_at_spawn(tmp_path):
    rt = Runtime(seed=1)
    with pytest.raises(SpawnError, match=r"imports math\.double, which no Theater handler provides; supply it "
                                         r"with Runtime\(host_functions=\{'math\.double': function"):
        rt.spawn(manifest(tmp_path, "lifecycle", "lifecycle_actor_fixedbase.wasm"))


def test_bigrodata_actor_adds_its_constant(tmp_path):
    rt = Runtime(seed=1)
    for start, expected in ((5, 21474), (20, 21489)):
        actor = rt.actor(rt.spawn(manifest(tmp_path, "big", "bigrodata_fixedbase.wasm"), init_state=S64(start)))
        assert actor.state.value == expected


def test_a_package_without_init_is_not_an_actor(tmp_path):
    rt = Runtime(seed=1)
    with pytest.raises(SpawnError, match=r"does not export theater:simple/actor\.init, which every Theater actor "
                                         r"does \(it exports double\)"):
        rt.spawn(manifest(tmp_path, "doubler", "doubler_package.wasm"))


def test_sexpr_evaluates_lisp_expressions():
    """packr's s-expression evaluator (``packages/sexpr/src/lib.rs`` in colinrozzi/pack):
    an ``expr`` variant (sym 0, num 1, float 2, str 3, bool 4, nil 5, cons 6, err 7)."""
    _, inc = incarnate("sexpr_package.wasm")

    def sym(name):
        return Variant("expr", "sym", 0, (String(name),))

    def num(n):
        return Variant("expr", "num", 1, (S64(n),))

    def lst(*items):
        out = Variant("expr", "nil", 5, ())
        for item in reversed(items):
            out = Variant("expr", "cons", 6, (Tuple([item, out]),))
        return out

    def err(text):
        return Variant("expr", "err", 7, (String(text),))

    assert inc.call_raw("evaluate", lst(sym("+"), num(1), num(2), num(3))) == num(6)
    assert inc.call_raw("evaluate", lst(sym("*"), num(6), lst(sym("-"), num(10), num(3)))) == num(42)
    assert inc.call_raw("evaluate", lst(sym("/"), num(1), num(0))) == err("division by zero")
    assert inc.call_raw("evaluate", lst(sym("foo"))) == err("unknown function: foo")
