"""Triage: scores urgency and likely cause of each referral and names the teams needed."""
