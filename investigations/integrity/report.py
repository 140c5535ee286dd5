"""The human summary of a validation run, in the shape of ``aws cloudtrail validate-logs``.

Responders know aws-cli's output, so the familiar lines come first ("Results requested for ...",
"N/M digest files valid, K/M digest files INVALID", tab-separated per-file lines); what
Trailhound checks beyond aws-cli follows under "Chain findings", and the signature caveat last,
where it cannot be missed.
"""

from __future__ import annotations

from investigations.integrity import result as r
from investigations.timeparse import iso

_KIND = {"digest": "Digest file", "log": "Log file"}


def _line(item: r.FileResult) -> str:
    label = ("(backfill) " if item.backfill and item.kind == "digest" else "") + _KIND[item.kind]
    if item.status == r.VALID:
        verdict = "valid"
    elif item.invalid:
        verdict = f"INVALID: {item.detail}"
    else:
        verdict = f"{item.status}: {item.detail}"
    return f"{label}\t{item.location}\t{verdict}"


def _counts(result: r.ValidationResult, kind: str, label: str, backfill: bool | None) -> str | None:
    counts = result.counts(kind, backfill)
    total = sum(counts.values())
    if not total:
        return None
    valid = counts.get(r.VALID, 0)
    invalid = sum(n for status, n in counts.items() if status in r.INVALID_STATUSES)
    other = total - valid - invalid
    parts = [f"{valid}/{total} {label} files valid"]
    if other:
        parts.append(f"{other}/{total} {label} files not verified")
    if invalid:
        parts.append(f"{invalid}/{total} {label} files INVALID")
    return ", ".join(parts)


def render(result: r.ValidationResult, verbose: bool = False) -> str:
    """The text report; invalid and unverified files are always listed, valid ones with ``verbose``."""
    lines = [
        f"Validating CloudTrail digests and log files in {result.source}",
        f"Results requested for {iso(result.start) or 'the beginning'} to {iso(result.end) or 'now'}",
    ]
    digests = [f for f in result.files if f.kind == "digest"]
    if not digests:
        lines.append("No digests found")
    elif not any(f.status in (r.VALID, r.UNVERIFIED) for f in digests):
        lines.append("No valid digests found in range")
    else:
        first = min(c.first for c in result.chains if c.first)
        last = max(c.last for c in result.chains if c.last)
        if result.start:
            first = max(first, result.start)
        if result.end:
            last = min(last, result.end)
        lines.append(f"Results found for {iso(first)} to {iso(last)}:")
    lines.append("")
    shown = [f for f in result.files if verbose or f.status != r.VALID]
    lines.extend(_line(f) for f in shown)
    if shown:
        lines.append("")
    for kind, label, backfill in (
        ("digest", "digest", False),
        ("digest", "backfill digest", True),
        ("log", "log", None),
    ):
        text = _counts(result, kind, label, backfill)
        if text:
            lines.append(text)
    findings = [f for f in result.findings if verbose or f.severity != r.INFO or f.kind == "gap"]
    if findings:
        lines.extend(["", "Chain findings:"])
        order = {r.ERROR: 0, r.WARNING: 1, r.INFO: 2}
        for finding in sorted(findings, key=lambda f: (order[f.severity], f.chain)):
            lines.append(f"  {finding.severity.upper():<8}{finding.kind}: {finding.chain}: {finding.detail}")
    if result.notes:
        lines.append("")
        lines.extend(f"NOTE: {note}" for note in result.notes)
    verdict = "INVALID evidence found" if not result.ok else "all checked evidence is intact"
    if result.ok and not result.signatures_checked:
        verdict += " (hashes and chain links only: signatures not checked)"
    lines.extend(["", f"Result: {verdict}"])
    return "\n".join(lines)
