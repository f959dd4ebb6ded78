"""Handlers: each takes a ``Request`` and the app, and returns a ``Response`` or raises ``HTTPError``.

They never parse cookies or talk CORS: the middleware has done that already.
"""
