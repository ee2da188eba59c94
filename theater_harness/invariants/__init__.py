"""Invariants checked on a run's trace: each a pure function of the trace records that
returns the violations it finds (an empty list when the rule holds).

    from theater_harness.invariants import check_all
    assert check_all(rt) == []

Each rule follows SPEC section 7 (and OTP's ``supervisor`` for the supervision ones):
strategy conformance, restart types, restart intensity, supervisor restarts, failure
isolation, state recovery, no orphans, reverse-order shutdown, chain integrity, messages; determinism is
checked by running the same thing twice (``check_determinism``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from ._chain import check_chain_integrity
from ._determinism import check_determinism
from ._intensity import check_intensity
from ._isolation import check_failure_isolation
from ._messages import check_messages
from ._records import records_of, shared_actors
from ._recovery import check_state_recovery
from ._restart_types import check_restart_types
from ._shutdown import check_no_orphans, check_reverse_order_shutdown
from ._strategy import check_strategy_conformance
from ._supervisor_restart import check_supervisor_restart
from ._violation import Violation

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
}


def check_all(source: Any, *, policies: Mapping[str, Mapping[str, Any]] | None = None,
              only: Iterable[str] | None = None) -> list[Violation]:
    """Every invariant of ``INVARIANTS`` (or those named in ``only``) on one trace (a
    ``Runtime``, a ``Trace``, its JSON or its records); the violations of each, in that
    order. ``policies`` gives supervisors that declare none (guest supervisors) the policy
    to check them against, by name or id:
    ``{"sup": {"strategy": "one_for_one", "intensity": 3, "period_ms": 5000}}``."""
    names = list(INVARIANTS) if only is None else list(only)
    unknown = [n for n in names if n not in INVARIANTS]
    if unknown:
        raise ValueError(f"unknown invariant {unknown[0]!r}; invariants: {', '.join(INVARIANTS)}")
    records = records_of(source)
    with shared_actors(records):
        return [v for name in names for v in INVARIANTS[name](records, policies=policies)]


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
    "check_strategy_conformance",
    "check_supervisor_restart",
    "records_of",
]
