"""The case-side model: findings, bookmarks, notes, tags, IOCs and containment, and their storage.

Callers (the TUI's case panel, ``trailhound case``, a detection promoted with ``f``) use the
functions re-exported here; each change is journaled and saved before it returns.
"""

from investigations.casefile.items import (
    CONTAINMENT_ACTIONS,
    FINDING_STATUSES,
    IOC_KINDS,
    REF_KINDS,
    SEVERITIES,
    Bookmark,
    Containment,
    Finding,
    Ioc,
    Item,
    ItemError,
    Note,
    Ref,
    Tag,
)
from investigations.casefile.ops import (
    add_bookmark,
    add_containment,
    add_finding,
    add_ioc,
    add_note,
    add_tag,
    contained_activity,
    edit,
    get,
    items,
    promote_detection,
    refresh_iocs,
    remove,
)
from investigations.casefile.sightings import after_containment, sighting

__all__ = [
    "CONTAINMENT_ACTIONS",
    "FINDING_STATUSES",
    "IOC_KINDS",
    "REF_KINDS",
    "SEVERITIES",
    "Bookmark",
    "Containment",
    "Finding",
    "Ioc",
    "Item",
    "ItemError",
    "Note",
    "Ref",
    "Tag",
    "add_bookmark",
    "add_containment",
    "add_finding",
    "add_ioc",
    "add_note",
    "add_tag",
    "after_containment",
    "contained_activity",
    "edit",
    "get",
    "items",
    "promote_detection",
    "refresh_iocs",
    "remove",
    "sighting",
]
