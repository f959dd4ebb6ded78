"""The layers a request passes through before a handler sees it, one small class each.

Like werkzeug's own middleware, each is ``__init__(self, app, ...)`` plus
``__call__(self, environ, start_response)``; ``create_app()`` stacks them in the
order a request meets them.
"""
