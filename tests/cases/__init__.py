"""Shared test data tables, used by unit tests and by the simulator/end-to-end tests."""
