"""Theater manifests: both eras, init_state, the spawn merge rule, and every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from theater_harness.errors import ManifestError
from theater_harness.manifest import (
    HANDLER_TYPES,
    PROVIDED_HANDLERS,
    THEATER_ONLY_TYPES,
    HandlerSpec,
    Manifest,
    load_manifest,
    merge_init_state,
    parse_manifest,
)

DATA = Path(__file__).parent / "data" / "manifests"
KNOWN = ("runtime, message-server, supervisor, timing, random, store, timer, rpc, filesystem, http-client, "
         "environment (provided by theater-harness), http-framework, process, wasi-http, replay, tcp, terminal, "
         "loop, podman (Theater's, accepted but not provided)")
MINIMAL = 'name = "a"\ncomponent = "a.wasm"\n'


def error_of(text: str) -> str:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text)
    return str(info.value)


# --- the two eras -------------------------------------------------------------------------------

def test_handler_types_are_theaters_the_provided_ones_first():
    assert PROVIDED_HANDLERS == ("runtime", "message-server", "supervisor", "timing", "random", "store", "timer", "rpc",
                                 "filesystem", "http-client", "environment")
    assert HANDLER_TYPES == PROVIDED_HANDLERS + THEATER_ONLY_TYPES
    theaters = ("message-server", "filesystem", "http-client", "http-framework", "runtime", "supervisor", "store",
                "timing", "process", "environment", "random", "wasi-http", "replay", "tcp", "rpc", "terminal",
                "timer", "loop", "podman")  # today's Theater's list (PACKR.md 5), in its order
    assert sorted(HANDLER_TYPES) == sorted(theaters) and len(set(HANDLER_TYPES)) == len(theaters)


def test_current_format_with_inline_handler_config():
    m = load_manifest(DATA / "current.toml")
    assert (m.name, m.version, m.description, m.save_chain) == ("counter", "0.2.0", "A counter actor", True)
    assert m.component == (DATA.parent / "actors" / "counter.wasm").resolve()
    assert m.component.is_absolute() and not m.component_exists
    assert m.init_state == b'{"count":0,"label":"c"}'
    assert [h.type for h in m.handlers] == ["runtime", "message-server", "random", "runtime"]
    assert m.handler_types == ("runtime", "message-server", "random")
    assert m.handler("random").config == {"max_bytes": 1048576, "max_int": 9223372036854775807,
                                          "allow_crypto_secure": False}
    assert m.handler("runtime").config == {}
    assert m.handler("timing") is None
    assert m.era == "handler"
    assert m.tables == {"supervision": {"strategy": "one_for_one", "intensity": 3}}
    assert (m.source, m.base_dir) == (str(DATA / "current.toml"), DATA.resolve())


def test_older_format_with_component_path_and_config_tables():
    m = load_manifest(DATA / "older.toml")
    assert m.era == "handlers"
    assert m.component == (DATA / "old_actor.wasm").resolve()
    assert m.version == "0.1.0"  # the documented default
    assert (m.description, m.save_chain, m.init_state) == (None, False, None)
    assert m.handlers == (
        HandlerSpec("runtime", {}),
        HandlerSpec("message-server", {"port": 8080}, {"interface": "theater:simple/message-server-client"}),
        HandlerSpec("supervisor", {}),
    )
    assert m.tables == {"interface": {"implements": "theater:simple/actor", "requires": []}}


def test_real_theater_manifest_with_package():
    m = load_manifest(DATA / "theater-real.toml")
    assert m.component == Path("/abs/path/wasi_random_test.wasm")
    assert (m.name, m.version, m.save_chain) == ("wasi-random-test", "0.1.0", True)
    assert m.description == "WASI random interface test actor"
    assert m.handler_types == ("runtime", "random")
    assert m.handler("random").config["max_bytes"] == 1048576
    assert (m.era, m.tables) == ("handler", {})


def test_component_path_alone_is_the_older_era_and_component_wins_over_equal_aliases(tmp_path):
    assert parse_manifest('name = "a"\ncomponent_path = "a.wasm"').era == "handlers"
    m = parse_manifest('name = "a"\ncomponent = "x/a.wasm"\ncomponent_path = "x/../x/a.wasm"',
                       base_dir=tmp_path)
    assert m.component == tmp_path.resolve() / "x" / "a.wasm"
    assert m.era == "handler"


def test_inline_text_resolves_from_base_dir(tmp_path):
    (tmp_path / "a.wasm").write_bytes(b"\0asm")
    m = parse_manifest(MINIMAL, base_dir=tmp_path)
    assert (m.source, m.base_dir, m.component) == ("<inline manifest>", tmp_path.resolve(),
                                                   tmp_path.resolve() / "a.wasm")
    assert m.component_exists
    assert (m.handlers, m.handler_types, m.tables) == ((), (), {})


def test_manifest_records_are_read_only():
    m = load_manifest(DATA / "current.toml")
    with pytest.raises(AttributeError):
        m.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        m.handler("random").config["max_bytes"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        m.tables["x"] = 1  # type: ignore[index]


def test_manifest_can_be_built_directly():
    m = Manifest(name="a", component=Path("/x/a.wasm"), handlers=(HandlerSpec("timing"),))
    assert (m.version, m.era, m.handler_types, m.init_state) == ("0.1.0", "handler", ("timing",), None)


# --- init_state -------------------------------------------------------------------------------------

def test_init_state_from_a_json_file_is_normalised():
    m = load_manifest(DATA / "with-init-file.toml")
    assert m.init_state == '{"alpha":"héllo","zeta":[1,2.5,{"a":null,"b":true}]}'.encode()


def test_init_state_from_a_toml_table():
    m = load_manifest(DATA / "with-init-table.toml")
    assert m.init_state == '{"alpha":"héllo","zeta":[1,2.5,{"b":true}]}'.encode()


@pytest.mark.parametrize("inline, expected", [
    ('{"b": 1, "a": [true, null]}', b'{"a":[true,null],"b":1}'),
    ("  \n [1, 2.0, 1e-7]", b"[1,2.0,1e-7]"),
    ('{"é": "日本"}', '{"é":"日本"}'.encode()),
])
def test_init_state_as_inline_json(inline, expected):
    assert parse_manifest(MINIMAL + f"init_state = '''{inline}'''").init_state == expected


# --- merge at spawn ---------------------------------------------------------------------------------

@pytest.mark.parametrize("manifest_state, spawn, expected", [
    (None, None, None),
    (b'{"a":1}', None, b'{"a":1}'),
    (None, b"not json", b"not json"),
    (None, b'{"b": 1, "a": 2}', b'{"b": 1, "a": 2}'),  # verbatim when there is nothing to merge
    (b'{"a":1,"b":2}', b'{"b":3,"c":4}', b'{"a":1,"b":3,"c":4}'),
    (b'{"z":1}', b'{"b": 3, "a": 4}', b'{"a":4,"b":3,"z":1}'),
    (b'{"a":{"x":1}}', b'{"a":{"y":2}}', b'{"a":{"y":2}}'),  # shallow
    (b'{"a":1}', b'[1, 2]', b"[1,2]"),
    (b'{"a":1}', b"null", b"null"),
    (b"[1]", b'{"z": 1, "a": 2}', b'{"a":2,"z":1}'),
    (b"not json", b'{"a": 1}', b'{"a":1}'),
    (b'{"a":1}', b"\xff\x00", b"\xff\x00"),
    (b'{"a":1}', b"", b""),
    (b'{"a":1}', '{"é": 2.50}'.encode(), '{"a":1,"é":2.5}'.encode()),
])
def test_merge_init_state(manifest_state, spawn, expected):
    assert merge_init_state(manifest_state, spawn) == expected


# --- bad input -----------------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(info.value) == f"{path}: manifest file not found"
    assert info.value.file == str(path)


def test_a_directory_is_not_a_manifest(tmp_path):
    with pytest.raises(ManifestError, match="cannot read the manifest: .*Is a directory"):
        load_manifest(tmp_path)


def test_invalid_toml_gives_tomllibs_message_with_the_position(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "a"\ncomponent "a.wasm"\n')
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(info.value) == (f"{path}: not valid TOML: Expected '=' after a key in a key/value pair "
                               "(at line 2, column 11)")


@pytest.mark.parametrize("text, message", [
    ('component = "a.wasm"', "field 'name': missing; every manifest needs name = \"...\""),
    ('name = ""\ncomponent = "a.wasm"', "field 'name': missing; every manifest needs name = \"...\""),
    ('name = true\ncomponent = "a.wasm"', "field 'name': expected a string, got the boolean true"),
    ('name = "a"',
     "field 'component': missing; give component = \"path/to/actor.wasm\" "
     "(older manifests: component_path; newest Theater: package)"),
    ('name = "a"\ncomponent = 3', "field 'component': expected a path string, got the integer 3"),
    ('name = "a"\ncomponent = "a.wasm"\npackage = "b.wasm"',
     "field 'package': \"b.wasm\" disagrees with component = \"a.wasm\"; keep only component"),
    ('name = "a"\ncomponent_path = "a.wasm"\npackage = "b.wasm"',
     "field 'package': \"b.wasm\" disagrees with component_path = \"a.wasm\"; keep only component_path"),
    (MINIMAL + 'save_chain = "yes"',
     "field 'save_chain': expected a boolean (true or false), got the string \"yes\""),
    (MINIMAL + "version = 1", "field 'version': expected a string, got the integer 1"),
    (MINIMAL + "description = [1]", "field 'description': expected a string, got an array"),
    (MINIMAL + '[[handler]]\ntype = "runtime"\n[[handler]]\nmax_bytes = 1',
     f"field 'handler[1].type': missing; each [[handler]] table needs type = one of: {KNOWN}"),
    (MINIMAL + '[[handlers]]\nconfig = {}',
     f"field 'handlers[0].type': missing; each [[handlers]] table needs type = one of: {KNOWN}"),
    (MINIMAL + '[[handler]]\ntype = "runtime"\n[[handler]]\ntype = "timing"\n[[handler]]\ntype = "fancy"',
     f"field 'handler[2].type': \"fancy\" is not a known handler type; known types: {KNOWN}"),
    (MINIMAL + '[[handler]]\ntype = 5',
     f"field 'handler[0].type': expected a string (one of: {KNOWN}), got the integer 5"),
    (MINIMAL + '[[handler]]\ntype = "runtime"\n[[handlers]]\ntype = "runtime"\nconfig = {}',
     "field 'handlers': both [[handler]] (current format) and [[handlers]] (older format) are present; "
     "keep one, preferably [[handler]] with each handler's config fields inline"),
    (MINIMAL + 'handler = "runtime"',
     "field 'handler': expected an array of tables ([[handler]]), got the string \"runtime\""),
    (MINIMAL + '[[handlers]]\ntype = "random"\nconfig = 3',
     "field 'handlers[0].config': expected a table (e.g. config = {}), got the integer 3"),
    (MINIMAL + "init_state = 5",
     "field 'init_state': expected a path to a JSON file, inline JSON text, or a table, got the integer 5"),
    (MINIMAL + """init_state = '{"a": 1 2}'""",
     "field 'init_state': the inline JSON is not valid JSON: Expecting ',' delimiter at line 1 column 9"),
    (MINIMAL + "[init_state]\nborn = 1979-05-27",
     "field 'init_state': cannot convert this TOML value to JSON: cannot encode date as JSON "
     "(TOML dates and times have no JSON form)"),
])
def test_bad_manifest_names_the_field_and_what_is_valid(text, message):
    assert error_of(text) == f"<inline manifest>: {message}"


def test_bad_init_state_file_names_manifest_json_file_and_position():
    path = DATA / "bad-init-file.toml"
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    json_path = (DATA / "bad-init-state.json").resolve()
    assert str(info.value) == (f"{path}: field 'init_state': the JSON file {json_path} is not valid JSON: "
                               "Expecting ':' delimiter at line 4 column 1")
    assert (info.value.file, info.value.field) == (str(path), "init_state")


def test_missing_init_state_file(tmp_path):
    with pytest.raises(ManifestError) as info:
        parse_manifest(MINIMAL + 'init_state = "state.json"', base_dir=tmp_path)
    assert str(info.value) == (f"<inline manifest>: field 'init_state': cannot read the JSON file "
                               f"{tmp_path.resolve() / 'state.json'}: No such file or directory")
