"""Prometheus metrics of one app (its own registry: no import-time singletons)."""

from __future__ import annotations

import time

from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Receive, Scope, Send

from kpchain.api.asgi import StatusRecorder


class Metrics:
    """The service's metrics: HTTP traffic, write outcomes, index and chain heights."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kpchain_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kpchain_http_request_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.index_head = Gauge(
            "kpchain_index_block", "Last block the index has processed.", registry=self.registry
        )
        self.chain_head = Gauge(
            "kpchain_chain_block", "Latest block the node reports.", registry=self.registry
        )

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=PROMETHEUS_CONTENT_TYPE)


# Every label takes a bounded set of values: a label value is a time series kept for the life
# of the process, so one taken from the request (a raw path, an invented method) would let any
# caller grow the service's memory without end.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"
UNMATCHED = "unmatched"


def method_label(method: str) -> str:
    """`method` when it is a standard HTTP method the service may serve, else "other"."""
    return method if method in _METHODS else OTHER


def status_label(status: int) -> str:
    """The status code, or "other" outside 100-599."""
    return str(status) if 100 <= status <= 599 else OTHER


class MetricsMiddleware:
    """Counts and times every request by its route template (not its raw path, which would
    give one series per certificate number), with bounded method and status labels. Plain
    ASGI, so streaming responses (the event stream) pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observe = StatusRecorder(send)

        try:
            await self.app(scope, receive, observe)
        finally:
            # The template of the route that served it: one of the app's own routes.
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = method_label(str(scope.get("method", "")))
            self.metrics.requests.labels(method, route, status_label(observe.status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
