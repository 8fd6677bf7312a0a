"""The authority service's REST API (FastAPI): app factory, routes, auth, error mapping."""

from kpchain.api.app import create_app

__all__ = ["create_app"]
