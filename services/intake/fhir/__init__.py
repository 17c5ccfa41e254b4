"""FHIR R4 intake: parse a Bundle (with fhir.resources.R4B models) and map it to a Referral."""
