"""Provider configuration: the JSON Schema, typed models, secrets, checksums and sources.

    from llmpool_policy.config import load_config
    config = load_config("config.json")            # or an https:// URL
    config.providers[0].api_key.reveal()            # the only way to see a key

Every problem is reported at once in a :class:`~llmpool_policy.errors.ConfigurationError`
whose diagnostics carry a JSON pointer, a code (``C001``...) and a plain message.
"""

from __future__ import annotations

from .checksum import canonical_json, config_checksum
from .codes import CODES
from .loader import load_config, parse_config, poll_config, validate_config_data
from .models import DEFAULT_BASE_URLS, PROVIDER_TYPES, PoolConfig, ProviderConfig, Supports
from .schema import load_schema, schema_path
from .secrets import Secret
from .sources import UNCHANGED, ConfigSource, Fetched, FileSource, Unchanged, UrlSource

__all__ = [
    "CODES",
    "DEFAULT_BASE_URLS",
    "PROVIDER_TYPES",
    "UNCHANGED",
    "ConfigSource",
    "Fetched",
    "FileSource",
    "PoolConfig",
    "ProviderConfig",
    "Secret",
    "Supports",
    "Unchanged",
    "UrlSource",
    "canonical_json",
    "config_checksum",
    "load_config",
    "load_schema",
    "parse_config",
    "poll_config",
    "schema_path",
    "validate_config_data",
]
