"""The REST API at /api/v1/ (django-ninja): the same model methods as the browser, behind per-user tokens, and
the alert webhooks behind per-integration tokens. Nothing imports this package."""
