"""Webhook delivery: signing, retry policy, per-subscriber per-case ordered lanes."""
