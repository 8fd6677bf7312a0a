"""Server-rendered pages of the service: the public verify page and the authority dashboard."""
