"""Two hosts behind nginx: two serve.py processes (own instance directories, one secret key, one
PostgreSQL database) behind nginx with TLS (a throwaway self-signed certificate), round robin.

``two_hosts`` yields ``{"port": nginx's HTTPS port, "logs": {"a": path, "b": path}, "database": url,
"hosts": {"a": Server, "b": Server}}``.
Without nginx or openssl it skips with the reason (fails with ``CI=true``).
"""

import os
import shutil
import subprocess

import pytest

from support.postgres import REQUIRE
from support.server import Server, free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

# The configuration OPERATIONS.md shows, on loopback ports.
NGINX_CONF = """
pid {dir}/nginx.pid;
error_log {dir}/error.log;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
    upstream wsgi_auth {{
        server 127.0.0.1:{port_a} max_fails=0;
        server 127.0.0.1:{port_b} max_fails=0;
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        listen 127.0.0.2:{port} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        location / {{
            proxy_pass http://wsgi_auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


@pytest.fixture
def two_hosts(tmp_path, postgres_database):
    if NGINX is None or shutil.which("openssl") is None:
        reason = "nginx or openssl is not installed"
        if REQUIRE:
            pytest.fail(reason + " (and CI=true)", pytrace=False)
        pytest.skip(reason)
    servers, logs = [], {}
    ports = {"a": free_port(), "b": free_port()}
    try:
        for name, port in ports.items():
            home = tmp_path / f"host-{name}"
            home.mkdir()
            server = Server.serve_py(home, "--host", "127.0.0.1", port=port, name=name, database=postgres_database,
                                     trusted_proxies="1")  # fmt: skip
            servers.append(server)
            logs[name] = server.stderr_path
            server.start()
        nginx_dir = tmp_path / "nginx"
        (nginx_dir / "tmp").mkdir(parents=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                        "-keyout", nginx_dir / "key.pem", "-out", nginx_dir / "cert.pem"], check=True,
                       capture_output=True)  # fmt: skip
        port = free_port()
        (nginx_dir / "nginx.conf").write_text(NGINX_CONF.format(dir=nginx_dir, port=port, port_a=ports["a"],
                                                                port_b=ports["b"]))  # fmt: skip
        nginx = Server([NGINX, "-c", str(nginx_dir / "nginx.conf"), "-p", str(nginx_dir), "-g", "daemon off;"],
                       workdir=nginx_dir, port=port, name="nginx", health=None)  # fmt: skip
        servers.append(nginx)
        nginx.start()
        yield {"port": port, "logs": logs, "database": postgres_database, "hosts": dict(zip(ports, servers))}
    finally:
        for server in reversed(servers):
            server.stop()
