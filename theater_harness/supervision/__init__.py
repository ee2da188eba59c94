"""Supervision: declarative policies (spec), restart intensity, strategy plans, backoff,
recovery modes, and the executor that applies them when a child ends."""

from .spec import Backoff, ChildSpec, SupervisorSpec, parse_supervision, supervision_of

__all__ = ["Backoff", "ChildSpec", "SupervisorSpec", "parse_supervision", "supervision_of"]
