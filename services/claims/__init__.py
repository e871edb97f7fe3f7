"""Claims service: accident reports, fast-track (快赔/预赔) clocks, assessment and payments."""
