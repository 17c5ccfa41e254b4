"""Helpers shared by the test suites: the real local broker, service processes, fake receivers."""
