"""The Anthropic Messages API surface: ``POST /v1/messages`` and ``/v1/messages/count_tokens``.

Pure translators (``request``, ``response``, ``stream``, ``errors``, ``count_tokens``,
``passthrough``) plus ``handler``, the only module here that does I/O (it mounts the routes).
"""

from triage.surfaces.anthropic.request import to_internal_request
from triage.surfaces.anthropic.response import to_anthropic_response
from triage.surfaces.anthropic.stream import AnthropicStreamWriter

__all__ = ["to_internal_request", "to_anthropic_response", "AnthropicStreamWriter"]
