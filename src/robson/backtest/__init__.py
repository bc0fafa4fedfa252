"""Backtesting helpers: candle data (real and synthetic) for replaying strategies offline."""
