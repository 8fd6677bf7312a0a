"""`create_app(settings)`: the service's FastAPI application, wired to a service runtime: the
REST API (`kpchain.api`) and the server-rendered pages (`kpchain.web`), whose errors are pages.

It sits above both: the pages build on the API's dependencies and error mapping, and the API
knows the pages only as the `ErrorPages` its error handlers are given here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from kpchain import __version__
from kpchain.api import caching, docs, errors
from kpchain.api.audit import AuditMiddleware
from kpchain.api.headers import HstsMiddleware
from kpchain.api.limits import BodyLimitMiddleware
from kpchain.api.metrics import Metrics, MetricsMiddleware
from kpchain.api.routes import (
    audit,
    certificates,
    drafts,
    events,
    exchange,
    governance,
    health,
    participants,
    printing,
    statistics,
    verify,
)
from kpchain.audit.trail import AuditTrail
from kpchain.config import Settings, get_settings
from kpchain.runtime import Runtime, build_runtime
from kpchain.verification.chain import ContractSignatures
from kpchain.web import error_pages
from kpchain.web import routes as pages
from kpchain.web import session as web_session
from kpchain.web.language import LanguageMiddleware

logger = logging.getLogger(__name__)

DESCRIPTION = """
The authority service of kpchain: each national authority signs and submits its Kimberley
Process certificate operations here, hears about inbound shipments, and reads its certificates
from an index of the consortium chain.

Authenticate with `Authorization: Bearer <api key>` (`kpchain keys create`). Writes accept an
`Idempotency-Key` header: a retry with the same key returns the first result. Errors always have
the shape `{"error": {"code", "message", "detail"}}`.
"""


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """The application. Without `runtime`, one is built from `settings` when the app starts
    (connecting to the node, migrating the database, opening the hosted signers) and stopped
    when it stops.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Blocking routes (every write waits for its block) run in anyio's worker threads.
        to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        current = runtime or build_runtime(settings)
        app.state.runtime = current
        app.state.contract_signatures = ContractSignatures(current.w3)
        caching.follow_index(app.state.answers, current)
        app.state.audit = _audit_trail(current)
        app.state.audit.start()
        current.start()
        logger.info("kpchain service ready: registry %s", current.registry.address)
        try:
            yield
        finally:
            current.stop()
            app.state.audit.close()  # after the last request: what it handed over is written

    app = FastAPI(
        title="kpchain authority service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by kpchain.api.docs, without a CDN
        redoc_url=None,
    )
    app.state.metrics = Metrics()
    app.state.settings = settings
    app.state.streams = events.OpenStreams(settings.max_streams_per_key)
    app.state.answers = caching.HeadCache()
    errors.install(app, pages=error_pages)
    # The last added runs first: metrics count every request, the refused ones included, and
    # the answers served from the cache get the same headers and metrics as the others.
    app.add_middleware(LanguageMiddleware)  # the pages' language, for all of a page's request
    app.add_middleware(
        caching.CachedAnswersMiddleware,
        cache=app.state.answers,
        prefix=verify.PREFIX,
        route=verify.route(),
    )
    app.add_middleware(
        BodyLimitMiddleware,
        default=settings.max_body_bytes,
        overrides={
            certificates.BATCH_PATH: settings.max_batch_body_bytes,
            exchange.ENVELOPES_PATH: settings.max_envelope_bytes,
        },
    )
    # Outside the body limit, so that a refused body is recorded too.
    app.add_middleware(AuditMiddleware, state=app.state, session_cookie=web_session.SESSION_COOKIE)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(HstsMiddleware)
    for router in (
        certificates.router,
        drafts.router,
        exchange.router,
        printing.router,
        participants.router,
        governance.router,
        verify.router,
        statistics.router,
        audit.router,
        events.router,
        health.router,
        docs.router,
        pages.router,
    ):
        app.include_router(router)
    return app


def _audit_trail(runtime: Runtime) -> AuditTrail:
    """The audit trail of `runtime`'s database, its records past the retention purged."""
    trail = AuditTrail(runtime.engine)
    purged = trail.purge(retention_days=runtime.settings.audit_retention_days)
    if purged:
        logger.info("audit trail: %s records older than the retention purged", purged)
    return trail
