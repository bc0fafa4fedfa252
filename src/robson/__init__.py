"""Robson: a risk-first trading operations engine."""

__version__ = "0.1.0"
