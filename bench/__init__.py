"""Benchmarks for wsgi_auth against the lesson's Flask stack and a minimal WSGI baseline.

Run them all with ``python -m bench`` (see ``bench/run.py`` for options).
"""
