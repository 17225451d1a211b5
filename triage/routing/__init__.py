"""Routing: pure functions from a request's features, the catalog and a policy to a decision."""

from triage.routing.decide import Decision, NoCandidateError, capability_quality, decide
from triage.routing.features import RequestFeatures, extract

__all__ = ["Decision", "NoCandidateError", "RequestFeatures", "capability_quality", "decide", "extract"]
