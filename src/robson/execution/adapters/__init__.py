"""Venue adapters behind the ExchangePort: the paper venue (and, later, Binance and Alpaca)."""
