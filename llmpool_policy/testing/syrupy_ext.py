"""A syrupy extension storing each routing snapshot as its own ``.txt`` file, so a policy change
shows in review as a plain-text diff of the decisions it moved (syrupy is a test dependency)."""

from __future__ import annotations

from syrupy.extensions.single_file import (  # type: ignore[import-not-found,unused-ignore]
    SingleFileSnapshotExtension,
    WriteMode,
)

__all__ = ["RoutingTextExtension"]


class RoutingTextExtension(SingleFileSnapshotExtension):  # type: ignore[misc,unused-ignore]
    _write_mode = WriteMode.TEXT
    file_extension = "txt"  # syrupy >= 5
    _file_extension = "txt"  # syrupy 4
