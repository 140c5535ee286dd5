"""The credential lineage a report draws: the keys a case names, their ancestry and what they minted.

The keys come from the case (finding entities, access-key IOCs, contained keys); the edges from
``investigations.lineage``. The result is a small graph of labelled nodes and edges that the
Markdown report draws as Mermaid and the HTML report as a nested list, so both show one picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from investigations.casefile.items import Containment, Finding, Ioc
from investigations.casefile.ops import items
from investigations.timeparse import iso

if TYPE_CHECKING:
    from investigations.case import Case
    from investigations.lineage import Link

#: Past this many nodes a diagram stops being read; the report says how many were left out.
MAX_NODES = 150


@dataclass(frozen=True, slots=True)
class Edge:
    parent: str
    child: str
    label: str
    inferred: bool


@dataclass(slots=True)
class LineageGraph:
    """Nodes by id (a key, or ``issuer:<who>`` for an origin without a key) with display labels."""

    nodes: dict[str, str] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    named: list[str] = field(default_factory=list)
    left_out: int = 0

    def roots(self) -> list[str]:
        children = {e.child for e in self.edges}
        return [n for n in self.nodes if n not in children]

    def children(self, node: str) -> list[Edge]:
        return [e for e in self.edges if e.parent == node]


def named_keys(case: Case) -> list[str]:
    """Access keys the case points at, in the order the responder named them."""
    keys: list[str] = []
    for item in items(case, "finding"):
        if isinstance(item, Finding):
            keys += [e["value"] for e in item.entities if e["kind"] in ("access_key", "session")]
    keys += [i.value for i in items(case, "ioc") if isinstance(i, Ioc) and i.kind == "access_key"]
    keys += [c.target for c in items(case, "containment") if isinstance(c, Containment) and c.action.endswith("_key")]
    return list(dict.fromkeys(keys))


def _label(link: Link) -> str:
    who = link.arn or link.issuer or ""
    return f"{link.key} {who}".strip()


def _edge_label(link: Link) -> str:
    """How the key came from its parent: the issuing call and its time, or the kind of origin."""
    if link.event_name:
        return " ".join(p for p in (link.event_name, iso(link.event_time)) if p)
    return "owns" if link.issuer_kind == "long_term" else link.issuer_kind.replace("_", " ")


def build(case: Case) -> LineageGraph:
    graph = LineageGraph(named=named_keys(case))
    if not graph.named or not case.has_events:
        return graph
    from investigations.lineage import Lineage

    links: list[Link] = []
    for key in graph.named:
        tree = Lineage.for_key(case.store, key)
        links += tree.chain + tree.descendants
        graph.nodes.setdefault(key, key)
    for link in dict.fromkeys(links):
        if len(graph.nodes) >= MAX_NODES and link.key not in graph.nodes:
            graph.left_out += 1
            continue
        graph.nodes[link.key] = _label(link)
        parent = link.parent
        if parent is None:
            parent = f"issuer:{link.issuer_kind}:{link.issuer or 'unknown'}"
            graph.nodes.setdefault(parent, f"{link.issuer_kind}: {link.issuer or 'unknown'}")
        else:
            graph.nodes.setdefault(parent, parent)
        graph.edges.append(Edge(parent, link.key, _edge_label(link), link.inferred))
    graph.edges = list(dict.fromkeys(graph.edges))
    return graph
