"""Credentials: eligibility, issuance (one current credential per practitioner and
program), status lists and status changes, supersession, bulk issuance, the signing keys,
and the documents (QR codes, PDF certificate)."""
