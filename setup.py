"""Settings are in setup.cfg; this adds what it cannot say: the top-level public/ ships as wsgi_auth/public/."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["wsgi_auth", "wsgi_auth.*"]), "wsgi_auth.public"],
    package_dir={"wsgi_auth.public": "public"},
)
