"""ledgers part of the monitoring hub (models, read-model handlers, routes)."""
