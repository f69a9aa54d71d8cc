"""Stable codes for every configuration finding.

Codes never change meaning once published: editors, CI filters and docs key on them. The
catalogue is data so docs/configuration.md and the tests can check that every code is
documented and every code is reachable.
"""

from __future__ import annotations

__all__ = ["CODES", "IO_CODES"]

CODES: dict[str, str] = {
    "C001": "the file is not valid JSON",
    "C002": "a key appears twice in one JSON object",
    "C003": "a value has the wrong type",
    "C004": "a number is out of range",
    "C005": "an unknown key (misspelled or unsupported)",
    "C006": "a required key is missing",
    "C007": "a value is not one of the allowed choices",
    "C008": "a string is empty or badly formed",
    "C009": "api_key and api_key_env are both given",
    "C010": "two providers share a name",
    "C011": "base_url is not an https URL (and its host is not loopback)",
    "C012": "an environment variable used by the configuration is not set",
    "C013": "the configuration's checksum differs from the pinned one",
    "C014": "the configuration file cannot be read",
    "C015": "the remote configuration cannot be fetched",
    "C016": "the configuration is larger than the size cap",
    "C017": "the configuration URL is not allowed (https only, unless loopback)",
    "C018": "a value is invalid (other)",
    "C019": "a file the configuration names cannot be read",
    "C020": "the document is nested too deeply",
    "C021": "a string holds a lone surrogate (not Unicode text)",
    "C022": "a key or header holds a control character or non-ASCII text, or a header name is "
    "invalid",
    "W001": "a price is given for one direction only",
    "W002": "the provider list is empty",
    "N001": "a trailing newline was removed from a key or header value",
}

# Codes that mean "could not get the document" rather than "the document is wrong".
IO_CODES: frozenset[str] = frozenset({"C014", "C015", "C016", "C017", "C019"})
