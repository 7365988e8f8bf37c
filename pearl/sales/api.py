"""/api/v1 endpoints of the sales app."""

from ninja import Router

router = Router()
