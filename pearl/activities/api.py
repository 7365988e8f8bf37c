"""/api/v1 endpoints of the activities app."""

from ninja import Router

router = Router()
