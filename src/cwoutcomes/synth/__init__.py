"""Synthetic California: an event-history simulation of children, referrals, removals,
placements, exits and re-entries for the 58 counties, writing a complete data set in the
canonical model (optionally with planted data-quality faults). Deterministic for a seed."""

from cwoutcomes.synth.generate import generate

__all__ = ["generate"]
