"""The signed-in user's own page: their API token (see README, "REST API v1")."""
