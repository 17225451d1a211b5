"""Routing: pure functions from a request's features, the catalog and a policy to a decision.

Modules: ``features`` (what a request asks), ``decide`` (the decision), ``pool`` (a model as
a router sees it), ``learned`` (the trained quality model). Import them directly.
"""
