"""Triage: an LLM routing gateway that sends each request to the cheapest capable model."""

__version__ = "0.1.0"
