"""The REST API (mounted at /api/): token authentication, per-role serializers, strict filters and pagination,
throttles, the OpenAPI schema and a server-rendered docs page. See docs/API.md."""
