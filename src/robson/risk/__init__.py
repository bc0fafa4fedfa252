"""Pure risk policy: sizing (how much), checks (whether at all), limits (the configuration)."""
