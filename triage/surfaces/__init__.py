"""Client-facing APIs other than OpenAI chat: each surface translates its wire format to the
internal (OpenAI chat) format and back, and mounts its routes on the app."""
