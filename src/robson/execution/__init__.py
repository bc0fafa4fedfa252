"""Order execution: the shared fill simulator (matching) and the venue adapters."""
