"""Fault injection: fault records and schedules (``model``), and their application to a
run at the runtime's choke points (``injector``), with the actors a fault names
(``targets``) and, for a fault that found none running, why it missed (``missed``)."""

from .model import KINDS, OUTSIDE, Fault, FaultSchedule, fault, fault_from_dict
from .targets import AmbiguousTargetError

__all__ = ["KINDS", "OUTSIDE", "AmbiguousTargetError", "Fault", "FaultSchedule", "fault", "fault_from_dict"]
