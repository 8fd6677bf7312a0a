"""Server-rendered pages of the service: the public verify page and the authority dashboard.

The pages are routes of the service's application and use its dependencies and error mapping,
while `kpchain.api.app` includes this package's router: the API is imported first, so that any
module here can also be imported on its own (a test importing `kpchain.web.session`, say)
without meeting a half-initialised module of this package.
"""

import kpchain.api  # noqa: F401  (see above: fixes the import order)
