"""What the issuer records: practitioners, their completion records (evidence), the
request schemas, and the CSV import and export."""
