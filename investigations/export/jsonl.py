"""Timeline as JSON Lines: each event's typed fields, the case's annotations, and the original record.

The ``record`` is the CloudTrail record exactly as ingested (embedded without re-encoding), so
the file can be handed to another tool, or ingested into another case, with nothing lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

import orjson

from investigations.export import rows
from investigations.export.scope import Selection

if TYPE_CHECKING:
    from investigations.case import Case


def write(case: Case, selection: Selection, out: BinaryIO) -> int:
    count = 0
    for row in rows.stream(case, selection, raw=True):
        out.write(orjson.dumps(rows.plain(row)) + b"\n")
        count += 1
    return count
