"""Intake's pure domain: ids, missing records, the idempotency registry and its decisions."""
