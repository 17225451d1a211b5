"""Configuration: ``Settings`` parsed once from defaults, YAML, environment and flags."""

from triage.config.loader import ConfigError, load_settings, read_config_file
from triage.config.settings import Limits, Policy, Settings, Timeouts

__all__ = ["ConfigError", "Limits", "Policy", "Settings", "Timeouts", "load_settings", "read_config_file"]
