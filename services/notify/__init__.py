"""Notify: SLA clocks, escalation chains, signed webhook delivery and the referrer's status loop."""
