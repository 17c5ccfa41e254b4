"""Routing service: offers triaged cases to independent specialists and tracks review plans."""
