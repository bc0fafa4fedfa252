"""The use-case fixtures (a whole Robson over a real database, a manual clock) for tests that drive the fake venues
through the services: the same fixtures as tests/integration/services, shared rather than copied."""

from tests.integration.services.conftest import clock, make_app  # noqa: F401
