"""The command line: parse, call a use case, render with Rich. No business logic here."""
