"""The HTTP layer: a raw ASGI app, thin handlers, the chat hot path."""
