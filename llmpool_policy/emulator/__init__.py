"""Loopback HTTP servers that speak the providers' wire formats, with scripted, seeded faults.

The real HTTP peer for the pool's tests, the chaos tests, the benchmarks and ``make demo``:
OpenAI chat completions (also Groq, Together, OpenAI-compatible), Anthropic messages and Cohere
chat v2, each with its own authentication, validation, success and error bodies and rate-limit
headers. See docs/emulator.md.
"""

from __future__ import annotations

from .behaviour import FAULTS, Behaviour, BehaviourError, Fault, Phase
from .clock import Clock, SystemClock
from .emulator import Emulator
from .journal import REDACTED, Journal, JournalEntry
from .profiles import DEFAULT_PROFILE_FOR_TYPE, PROFILES, LatencyProfile
from .provider import DEFAULT_MODELS, RPM_LIMIT, EmulatedProvider

__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_PROFILE_FOR_TYPE",
    "FAULTS",
    "PROFILES",
    "REDACTED",
    "RPM_LIMIT",
    "Behaviour",
    "BehaviourError",
    "Clock",
    "EmulatedProvider",
    "Emulator",
    "Fault",
    "Journal",
    "JournalEntry",
    "LatencyProfile",
    "Phase",
    "SystemClock",
]
