"""Seeing what was routed, spent and saved: metrics, the dashboard, reports' queries, MCP.

Everything here reads the gateway (its settings and catalog) or the ledger store; nothing
here is on the chat hot path except the metrics observer, which only increments counters.
"""
