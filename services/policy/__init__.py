"""Policy service: enterprises (投保单位), rosters, quotes, underwriting, policies and premium."""
