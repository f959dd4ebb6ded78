"""The bare hello-world WSGI app: what a server costs with no app at all (``granian ... bench.hello:app``)."""

BODY = b'{"hello":"world"}'


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
