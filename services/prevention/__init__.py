"""Prevention service: technical service institutions, service records, hazard ledger, prevention-fund ledger."""
