"""Django's PostgreSQL backend with the health check of `core.pgfast` (settings: ENGINE)."""
