"""Re-runnable comparisons behind docs/decisions/: servers, upstream clients, JSON codecs."""
