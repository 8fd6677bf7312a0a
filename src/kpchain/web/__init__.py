"""Server-rendered pages of the service: the public verify page and the authority dashboard.

The pages build on the REST API's dependencies and its error mapping (`kpchain.api`), which
knows them only as the `ErrorPages` the application (`kpchain.app`) hands it.
"""
