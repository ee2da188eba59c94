"""Errors about bad input: each names the file, field, actor or value at fault.

Every file kind is validated up front by its schema (``theater_harness.schema``): a
scenario (ScenarioError), a manifest and its [supervision] (ManifestError), a fault
schedule and a tree (ScenarioError), a saved trace (TraceFileError), a chain
(ChainFileError). The command line exits 2 for any HarnessError.

A misbehaving *actor* never raises one of these: its failure is an exit reason
(see ``theater_harness.exit``) carried to its supervisor. These are for input
the harness cannot accept: a manifest, a component, a scenario, an API call.
"""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """Base class for every input error theater-harness raises."""


class LocatedError(HarnessError):
    """An error about a file (or inline text) and, optionally, one field in it."""

    def __init__(self, message: str, *, file: str | Path | None = None, field: str | None = None):
        self.file = str(file) if file is not None else None
        self.field = field
        self.reason = message
        parts = []
        if self.file:  # a name no terminal shows as it is (a NUL byte, a line break) is quoted
            parts.append(repr(self.file) if not self.file.isprintable() else self.file)
        if field:
            parts.append(f"field '{field}'")
        super().__init__(": ".join(parts + [message]))


class ManifestError(LocatedError):
    """A Theater manifest that cannot be read or is not valid."""


class ComponentError(LocatedError):
    """A component that cannot be compiled, inspected or linked."""


class ScenarioError(LocatedError):
    """A scenario file that cannot be read or is not valid."""


class ChainFileError(LocatedError):
    """A chain JSON file that is not in Theater's chain format."""


class TraceFileError(LocatedError, ValueError):
    """A saved trace (a file, its text or its parsed form) that is not a theater-harness
    trace; also a ValueError, as the report functions raised before it existed."""


class SpawnError(HarnessError):
    """An actor that could not be spawned (its manifest or component is bad)."""


class UnknownActorError(HarnessError, KeyError):
    """An API call named an actor id or name the runtime does not know."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown actor"


class UnknownExportError(HarnessError, KeyError):
    """A call from a test named an export the actor does not have."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown export"


class CallFailed(HarnessError):
    """A call from a test (``Runtime.call``) did not return a value: the call failed, the
    actor was not running, or the run ended first."""


class SimulationError(HarnessError):
    """The simulation cannot go on as asked (for example, time moving backwards)."""
