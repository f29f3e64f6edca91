"""Local stand-ins for every external system of the bundle, on 127.0.0.1 only.

``python -m devstack up|down|status|env|seed`` and ``python -m devstack cluster up|down``.
These are test doubles for development and CI, not product code.
"""
