"""Handlers: each takes a ``Request`` and the app, and returns a ``Response`` or raises ``HTTPError``
(or lets a domain exception through: ``Throttled``, ``StoreUnavailable``, ...); ErrorMiddleware
(middleware/errors.py) answers both.

They never parse cookies or talk CORS: the middleware has done that already.
"""
