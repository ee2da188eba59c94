"""Invariants checked on a run's trace: each a pure function of the trace records that
returns the violations it finds (an empty list when the rule holds).

    from theater_harness.invariants import check_all
    assert check_all(rt) == []

Each rule follows SPEC section 7 (and OTP's ``supervisor`` for the supervision ones):
strategy conformance, restart types, restart intensity, supervisor restarts, failure
isolation, state recovery, no orphans, reverse-order shutdown, chain integrity, messages; and the
outside world's (store durability, HTTP outcomes); determinism is checked by running the
same thing twice (``check_determinism``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from ._chain import ChainIntegrity, check_chain_integrity
from ._check import Pass, check
from ._determinism import check_determinism
from ._intensity import Intensity, check_intensity
from ._isolation import FailureIsolation, check_failure_isolation
from ._messages import Messages, check_messages
from ._records import records_of
from ._recovery import StateRecovery, check_state_recovery
from ._restart_types import RestartTypes, check_restart_types
from ._shutdown import NoOrphans, ReverseOrderShutdown, check_no_orphans, check_reverse_order_shutdown
from ._strategy import StrategyConformance, check_strategy_conformance
from ._supervisor_restart import SupervisorRestart, check_supervisor_restart
from ._violation import Violation
from ._world import HttpOutcomes, StoreDurability, check_http_outcomes, check_store_durability

# name -> check, for every invariant of a single trace (determinism needs runs, not a trace)
INVARIANTS: dict[str, Callable[..., list[Violation]]] = {
    "strategy_conformance": check_strategy_conformance,
    "restart_types": check_restart_types,
    "intensity": check_intensity,
    "supervisor_restart": check_supervisor_restart,
    "failure_isolation": check_failure_isolation,
    "state_recovery": check_state_recovery,
    "no_orphans": check_no_orphans,
    "reverse_order_shutdown": check_reverse_order_shutdown,
    "chain_integrity": check_chain_integrity,
    "messages": check_messages,
    "store_durability": check_store_durability,
    "http_outcomes": check_http_outcomes,
}
# name -> the pass that checks it (``_check``): ``check_all`` walks the trace once for all
_PASSES: dict[str, type[Pass]] = {
    "strategy_conformance": StrategyConformance,
    "restart_types": RestartTypes,
    "intensity": Intensity,
    "supervisor_restart": SupervisorRestart,
    "failure_isolation": FailureIsolation,
    "state_recovery": StateRecovery,
    "no_orphans": NoOrphans,
    "reverse_order_shutdown": ReverseOrderShutdown,
    "chain_integrity": ChainIntegrity,
    "messages": Messages,
    "store_durability": StoreDurability,
    "http_outcomes": HttpOutcomes,
}


def check_all(source: Any, *, policies: Mapping[str, Mapping[str, Any]] | None = None,
              only: Iterable[str] | None = None) -> list[Violation]:
    """Every invariant of ``INVARIANTS`` (or those named in ``only``) on one trace (a
    ``Runtime``, a ``Trace``, its JSON or its records); the violations of each, in that
    order. ``policies`` gives supervisors that declare none (guest supervisors) the policy
    to check them against, by name or id:
    ``{"sup": {"strategy": "one_for_one", "intensity": 3, "period_ms": 5000}}``.

    One walk over the records checks them all. A ``Runtime``'s (or a ``Trace``'s) walk
    stays with its trace: checked again, it reads only the records added since, and a
    run checked before a checkpoint is checked in each fork from there (``_check``)."""
    names = list(INVARIANTS) if only is None else list(only)
    unknown = [n for n in names if n not in INVARIANTS]
    if unknown:
        raise ValueError(f"unknown invariant {unknown[0]!r}; invariants: {', '.join(INVARIANTS)}")
    return check([_PASSES[name] for name in names], source, policies)


class InvariantViolation(AssertionError):
    """``assert_holds`` failed; ``violations`` has every violation found (the pytest
    plugin's failure report shows them with their evidence)."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        lines = [f"{len(violations)} supervision invariant violation(s):"] + [f"  {v}" for v in violations[:10]]
        super().__init__("\n".join(lines))


def assert_holds(source: Any, *, policies: Mapping[str, Mapping[str, Any]] | None = None,
                 only: Iterable[str] | None = None) -> None:
    """Raise ``InvariantViolation`` if any invariant (or those named in ``only``) fails."""
    violations = check_all(source, policies=policies, only=only)
    if violations:
        raise InvariantViolation(violations)


__all__ = [
    "INVARIANTS",
    "InvariantViolation",
    "assert_holds",
    "Violation",
    "check_all",
    "check_chain_integrity",
    "check_determinism",
    "check_failure_isolation",
    "check_intensity",
    "check_messages",
    "check_no_orphans",
    "check_restart_types",
    "check_reverse_order_shutdown",
    "check_state_recovery",
    "check_store_durability",
    "check_http_outcomes",
    "check_strategy_conformance",
    "check_supervisor_restart",
    "records_of",
]
