"""Manifests of today's Theater (PACKR.md 5): package, initial_state, long_description,
static_package, permission_policy, every [[handler]] type and its documented config keys,
and the stale [actor] / [handlers] layout refused with the current form spelled out."""

from __future__ import annotations

from pathlib import Path

import pytest

from theater_harness.errors import ManifestError
from theater_harness.manifest import HANDLER_TYPES, PROVIDED_HANDLERS, THEATER_ONLY_TYPES, Manifest, parse_manifest

STATE_TEST = '''name = "state-test"
version = "0.1.0"
package = "target/wasm32-unknown-unknown/release/state_test_actor.wasm"

[[handler]]
type = "runtime"
'''
MINIMAL = 'name = "a"\npackage = "a.wasm"\n'


def error_of(text: str) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text)
    return info.value


def test_the_state_test_manifest_of_theater_parses(tmp_path):
    m = parse_manifest(STATE_TEST, base_dir=tmp_path)
    assert (m.name, m.version, m.component_key, m.era) == ("state-test", "0.1.0", "package", "handler")
    assert m.component == tmp_path.resolve() / "target/wasm32-unknown-unknown/release/state_test_actor.wasm"
    assert m.handler_types == ("runtime",)
    assert (m.initial_state, m.init_state, m.long_description, m.static_package) == (None, None, None, False)
    assert (m.permission_policy, m.tables) == ({}, {})


def test_initial_state_is_kept_as_the_string_theater_makes_the_state(tmp_path):
    text = STATE_TEST.replace("\n[[handler]]", """initial_state = '{"listen": "127.0.0.1:0"}'\n\n[[handler]]""")
    m = parse_manifest(text, base_dir=tmp_path)
    assert m.initial_state == '{"listen": "127.0.0.1:0"}'
    assert m.handler("runtime").config == {}
    assert m.init_state is None  # not parsed, not normalised: Theater passes the string as it is
    assert parse_manifest(MINIMAL + 'initial_state = ""').initial_state == ""


@pytest.mark.parametrize("key, expected", [
    ("package", "package"), ("component", "component"), ("component_path", "component_path"),
])
def test_component_key_names_the_key_the_manifest_used(key, expected):
    assert parse_manifest(f'name = "a"\n{key} = "a.wasm"\n').component_key == expected


def test_component_key_is_the_key_read_when_several_agree(tmp_path):
    m = parse_manifest('name = "a"\npackage = "a.wasm"\ncomponent_path = "./a.wasm"\n', base_dir=tmp_path)
    assert (m.component_key, m.component) == ("component_path", tmp_path.resolve() / "a.wasm")
    assert Manifest(name="a", component=Path("/x/a.wasm")).component_key == "component"


def test_long_description_static_package_and_permission_policy(tmp_path):
    m = parse_manifest(MINIMAL + '''description = "short"
long_description = """A longer
description."""
static_package = true

[permission_policy.file_system]
type = "restrict"

[permission_policy.file_system.config]
allowed_paths = ["/tmp", "/var"]

[permission_policy.network]
type = "allow"
''', base_dir=tmp_path)
    assert (m.description, m.long_description, m.static_package) == ("short", "A longer\ndescription.", True)
    assert m.permission_policy == {"file_system": {"type": "restrict", "config": {"allowed_paths": ("/tmp", "/var")}},
                                   "network": {"type": "allow"}}
    assert m.tables == {}  # the new keys are fields, not extra tables
    with pytest.raises(TypeError):
        m.permission_policy["network"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        m.permission_policy["file_system"]["type"] = "allow"  # type: ignore[index]
    with pytest.raises(TypeError):
        m.permission_policy["file_system"]["config"]["x"] = 1  # type: ignore[index]


def test_every_handler_type_theater_names_is_accepted():
    text = MINIMAL + "".join(f'[[handler]]\ntype = "{t}"\n' for t in HANDLER_TYPES)
    m = parse_manifest(text)
    assert m.handler_types == HANDLER_TYPES
    assert len(HANDLER_TYPES) == 19 and set(PROVIDED_HANDLERS) | set(THEATER_ONLY_TYPES) == set(HANDLER_TYPES)
    assert not set(PROVIDED_HANDLERS) & set(THEATER_ONLY_TYPES)


def test_the_older_format_accepts_them_too():
    m = parse_manifest('name = "a"\ncomponent_path = "a.wasm"\n[[handlers]]\ntype = "timer"\n'
                       'config = { interval_ms = 5 }\n')
    assert (m.era, m.handler("timer").config) == ("handlers", {"interval_ms": 5})


def test_documented_config_keys_are_kept_with_the_others():
    m = parse_manifest(MINIMAL + '''
[[handler]]
type = "store"
store_id = "shared"
base_path = "/var/store"
extra = [1, 2]

[[handler]]
type = "timing"
max_sleep_duration = 3600000
min_sleep_duration = 0

[[handler]]
type = "random"
seed = 42
max_bytes = 1048576
max_int = 18446744073709551615
allow_crypto_secure = true

[[handler]]
type = "replay"
chain = "chain.json"

[[handler]]
type = "tcp"
listen = "127.0.0.1:0"
max_connections = 10
client_tls = { ca = "x" }

[[handler]]
type = "terminal"
raw_mode = false

[[handler]]
type = "timer"
interval_ms = 1
''')
    assert m.handler("store").config == {"store_id": "shared", "base_path": "/var/store", "extra": [1, 2]}
    assert m.handler("timing").config == {"max_sleep_duration": 3600000, "min_sleep_duration": 0}
    assert m.handler("random").config["max_int"] == 2**64 - 1
    assert m.handler("replay").config == {"chain": "chain.json"}
    assert m.handler("tcp").config["client_tls"] == {"ca": "x"}
    assert (m.handler("terminal").config, m.handler("timer").config) == ({"raw_mode": False}, {"interval_ms": 1})


KNOWN = ("runtime, message-server, supervisor, timing, random, store, timer, rpc, filesystem, http-client, "
         "environment (provided by theater-harness), http-framework, process, wasi-http, replay, tcp, terminal, "
         "loop, podman (Theater's, accepted but not provided)")


@pytest.mark.parametrize("text, field, message", [
    ('initial_state = 5', "initial_state",
     "expected a string (Theater makes it the actor's initial state, a string value), got the integer 5"),
    ('initial_state = "x"\ninit_state = \'{"a": 1}\'', "initial_state",
     "both initial_state (Theater's: the initial state as a string value) and init_state (theater-harness's: "
     "JSON state bytes) are given; keep one"),
    ('initial_state = "x"\n[init_state]\na = 1', "initial_state",
     "both initial_state (Theater's: the initial state as a string value) and init_state (theater-harness's: "
     "JSON state bytes) are given; keep one"),
    ('long_description = ["a"]', "long_description", "expected a string, got an array"),
    ('static_package = "yes"', "static_package", 'expected a boolean (true or false), got the string "yes"'),
    ('permission_policy = "strict"', "permission_policy",
     'expected a table of policies (e.g. [permission_policy.file_system] type = "restrict"), '
     'got the string "strict"'),
    ('[permission_policy]\nfile_system = "restrict"', "permission_policy.file_system",
     'expected a table (e.g. [permission_policy.file_system] type = "restrict"), got the string "restrict"'),
    ('[[handler]]\ntype = "teleport"', "handler[0].type", f'"teleport" is not a known handler type; known types: {KNOWN}'),
    ('[[handler]]\ntype = "Runtime"', "handler[0].type", f'"Runtime" is not a known handler type; known types: {KNOWN}'),
    ('[[handler]]\ntype = "store"\nstore_id = 7', "handler[0].store_id",
     "expected a non-empty string, got the integer 7"),
    ('[[handler]]\ntype = "store"\nstore_id = ""', "handler[0].store_id", 'expected a non-empty string, got the string ""'),
    ('[[handler]]\ntype = "store"\nbase_path = "a\\u0000b"', "handler[0].base_path",
     "the path 'a\\x00b' holds a NUL byte (\\0), which no file name can hold"),
    ('[[handler]]\ntype = "timing"\nmax_sleep_duration = -1', "handler[0].max_sleep_duration",
     "expected an integer >= 0, got the integer -1"),
    ('[[handler]]\ntype = "timing"\nmin_sleep_duration = 1.5', "handler[0].min_sleep_duration",
     "expected an integer >= 0, got the float 1.5"),
    ('[[handler]]\ntype = "random"\nseed = "42"', "handler[0].seed", 'expected an integer >= 0, got the string "42"'),
    ('[[handler]]\ntype = "random"\nmax_bytes = true', "handler[0].max_bytes",
     "expected an integer >= 0, got the boolean true"),
    ('[[handler]]\ntype = "random"\nmax_int = 18446744073709551616', "handler[0].max_int",
     "expected an integer from 0 to 18446744073709551615, got the integer 18446744073709551616"),
    ('[[handler]]\ntype = "random"\nallow_crypto_secure = 1', "handler[0].allow_crypto_secure",
     "expected a boolean (true or false), got the integer 1"),
    ('[[handler]]\ntype = "replay"\nchain = 3', "handler[0].chain", "expected a non-empty string, got the integer 3"),
    ('[[handler]]\ntype = "tcp"\nlisten = 8080', "handler[0].listen", "expected a non-empty string, got the integer 8080"),
    ('[[handler]]\ntype = "tcp"\nmax_connections = -5', "handler[0].max_connections",
     "expected an integer >= 0, got the integer -5"),
    ('[[handler]]\ntype = "terminal"\nraw_mode = "on"', "handler[0].raw_mode",
     'expected a boolean (true or false), got the string "on"'),
    ('[[handler]]\ntype = "timer"\ninterval_ms = 0', "handler[0].interval_ms",
     "expected an integer >= 1, got the integer 0"),
    ('[[handler]]\ntype = "runtime"\n[[handler]]\ntype = "timer"\ninterval_ms = "5"', "handler[1].interval_ms",
     'expected an integer >= 1, got the string "5"'),
])
def test_bad_values_name_the_key(text, field, message):
    error = error_of(MINIMAL + text)
    assert (error.field, error.reason) == (field, message)
    assert str(error) == f"<inline manifest>: field '{field}': {message}"


def test_the_older_format_checks_the_config_table():
    error = error_of('name = "a"\ncomponent_path = "a.wasm"\n[[handlers]]\ntype = "timer"\n'
                     'config = { interval_ms = 0 }\n')
    assert (error.field, error.reason) == ("handlers[0].config.interval_ms", "expected an integer >= 1, got the integer 0")


# --- the stale [actor] / [handlers] layout ----------------------------------------------------------

STALE_INTRO = ("this is the stale [actor] / [handlers] layout (Theater's CLI README and some of its examples), "
               "which Theater itself does not parse: it needs name, version and package at the top level and one "
               "[[handler]] table per handler, its config keys inline. Write it as:\n    ")


def test_the_stale_layout_is_refused_with_the_current_form():
    error = error_of('''[actor]
name = "multi-handler-test"
version = "0.2.0"
package = "target/multi.wasm"

[handlers]
runtime = {}
message-server = { port = 8080, "odd key" = 1, nested = { a = 1 } }
''')
    assert error.field == "actor"
    assert error.reason == STALE_INTRO + (
        'name = "multi-handler-test"\n    version = "0.2.0"\n    package = "target/multi.wasm"\n\n'
        '    [[handler]]\n    type = "runtime"\n\n'
        '    [[handler]]\n    type = "message-server"\n    port = 8080')
    fixed = "\n".join(line[4:] for line in error.reason[len(STALE_INTRO) - 4:].split("\n"))
    m = parse_manifest(fixed)  # what it suggests parses
    assert (m.name, m.version, m.handler_types, m.handler("message-server").config) == (
        "multi-handler-test", "0.2.0", ("runtime", "message-server"), {"port": 8080})


def test_the_stale_actor_table_alone_gets_placeholders():
    error = error_of('[actor]\nname = 3\n')
    assert error.field == "actor"
    assert error.reason == STALE_INTRO + (
        'name = "my-actor"\n    version = "0.1.0"\n    package = "path/to/actor.wasm"\n\n'
        '    [[handler]]\n    type = "runtime"')


def test_a_handlers_table_next_to_top_level_keys_is_the_stale_layout_too():
    error = error_of('name = "a"\ncomponent = "a.wasm"\n[handlers]\nsupervisor = {}\n')
    assert error.field == "handlers"
    assert error.reason == STALE_INTRO + (
        'name = "a"\n    version = "0.1.0"\n    package = "a.wasm"\n\n'
        '    [[handler]]\n    type = "supervisor"')


def test_an_actor_table_beside_a_current_manifest_is_kept_raw():
    m = parse_manifest(MINIMAL + '[actor]\nnote = "mine"\n')
    assert m.tables == {"actor": {"note": "mine"}}
