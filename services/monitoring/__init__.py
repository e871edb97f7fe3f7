"""Monitoring hub: the city's read models of every event, coverage, KPIs, ledgers and exports."""
