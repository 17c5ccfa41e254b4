"""Event contracts shared by every service: pydantic v2 models, JSON on the wire."""
