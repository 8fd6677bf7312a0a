"""The authority service's REST API (FastAPI): routes, auth dependencies, response schemas, and
the one place that maps errors to HTTP. `kpchain.app.create_app` serves it, with the pages."""
