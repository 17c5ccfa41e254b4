"""Intake: referral systems post referrals (JSON or FHIR R4); intake validates and produces them."""
