"""`python -m robson`: the CLI."""

from robson.cli.main import run

run()
