"""theater-harness: a deterministic, simulated-clock runtime for Theater's WebAssembly
actors, with supervision and fault injection, for tests.

    from theater_harness import Runtime
    from theater_harness.examples import EXAMPLES
    rt = Runtime(seed=1)
    counter = rt.spawn(EXAMPLES / "counter.toml")
    rt.send(counter, b"inc")
    rt.run_until_idle()
    assert rt.actor(counter).state == b'{"count":1}'
"""

from .actor import ActorView
from .chain import ChainEvent, EventChain, load_chain_file, verify_chain
from .errors import (ChainFileError, ComponentError, HarnessError, ManifestError, ScenarioError,
                     SimulationError, SpawnError, UnknownActorError)
from .exit import ExitReason
from .host.message_server import PendingRequest, RequestFailed
from .manifest import Manifest, load_manifest, parse_manifest
from .runtime import Runtime
from .trace import Trace, TraceRecord
from .world import World, WorldError

__all__ = [
    "ActorView",
    "ChainEvent",
    "ChainFileError",
    "ComponentError",
    "EventChain",
    "ExitReason",
    "HarnessError",
    "Manifest",
    "ManifestError",
    "PendingRequest",
    "RequestFailed",
    "Runtime",
    "ScenarioError",
    "SimulationError",
    "SpawnError",
    "Trace",
    "TraceRecord",
    "UnknownActorError",
    "World",
    "WorldError",
    "load_chain_file",
    "load_manifest",
    "parse_manifest",
    "verify_chain",
]
