"""The JSON API root: mounts each app's router under /api/v1."""

from ninja import NinjaAPI

api = NinjaAPI(title="Closeloop API", version="1", urls_namespace="api")
