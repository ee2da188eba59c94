"""Fault injection: fault records and schedules (``model``), and their application to a
run at the runtime's choke points (``injector``)."""

from .model import KINDS, OUTSIDE, Fault, FaultSchedule, fault, fault_from_dict

__all__ = ["KINDS", "OUTSIDE", "Fault", "FaultSchedule", "fault", "fault_from_dict"]
