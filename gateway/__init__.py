"""The gateway: the platform's only public entrance (OAuth2 client credentials, routing, limits, merged OpenAPI)."""
