"""Use cases: plan, validate, execute, adopt, close, sync fills, portfolio. Talk to the world only through ports."""
