"""Sending requests upstream: one pooled HTTP client for the whole gateway."""
