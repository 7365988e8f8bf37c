"""/api/v1 endpoints of the integrations app."""

from ninja import Router

router = Router()
