"""The techniques in the case's findings as an ATT&CK Navigator layer (layer format 4.5).

Each technique is scored by its most severe finding (info 1 ... critical 5) and commented with
the findings that name it, so the layer shows at a glance what the intruder did and how sure the
responder is. False positives are left out. A sub-technique's parent is marked to show its
sub-techniques, as Navigator otherwise keeps them folded away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from investigations.casefile.items import SEVERITIES, Finding
from investigations.casefile.ops import items
from investigations.export.scope import Selection

if TYPE_CHECKING:
    from investigations.case import Case

VERSIONS = {"attack": "16", "navigator": "5.1.0", "layer": "4.5"}


def layer(case: Case) -> dict[str, Any]:
    by_technique: dict[str, list[Finding]] = {}
    for finding in items(case, "finding"):
        if isinstance(finding, Finding) and finding.technique and finding.status != "false_positive":
            by_technique.setdefault(finding.technique, []).append(finding)
    folded = {t.split(".")[0] for t in by_technique if "." in t}
    techniques: list[dict[str, Any]] = []
    for technique, found in sorted(by_technique.items()):
        score = max(SEVERITIES.index(f.severity) + 1 for f in found)
        comment = "; ".join(f"{f.id} {f.title} ({f.severity}, {f.status.replace('_', ' ')})" for f in found)
        techniques.append(
            {
                "techniqueID": technique,
                "score": score,
                "comment": comment,
                "enabled": True,
                "showSubtechniques": technique in folded,
            }
        )
    techniques += [
        {"techniqueID": p, "enabled": True, "showSubtechniques": True} for p in sorted(folded - set(by_technique))
    ]
    return {
        "name": f"Trailhound: {case.data.get('name', '')}",
        "versions": VERSIONS,
        "domain": "enterprise-attack",
        "description": "Techniques in the case's findings; score = most severe finding (1 info ... 5 critical).",
        "sorting": 3,
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": ["#fff3b0", "#f08c00", "#c0392b"], "minValue": 1, "maxValue": 5},
        "legendItems": [],
        "metadata": [{"name": "case", "value": str(case.data.get("name", ""))}],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
    }


def write(case: Case, selection: Selection | None, out: BinaryIO) -> int:
    data = layer(case)
    out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    return len(data["techniques"])
