"""Data leaving: shared snapshots and images, public buckets, copies to outside accounts, bulk reads.

"Outside" means an account whose trail is not in the case and that the responder did not name
as part of the organization (``--org-account``); an org trail brings every member account in.
"""

from __future__ import annotations

from typing import Any

import orjson

from investigations.baseline import learning_window
from investigations.detections import policy
from investigations.detections.context import Context, burst_sql
from investigations.detections.fields import values_at
from investigations.detections.grouping import Group
from investigations.detections.registry import Match, Rule, Severity, Threshold, absent, eq, register

S3 = "s3.amazonaws.com"


def _params(record: dict[str, Any]) -> dict[str, Any]:
    value = record.get("requestParameters")
    return value if isinstance(value, dict) else {}


def _audience(values: list[Any], ctx: Context) -> list[str]:
    """Who a share adds: "everyone" for the all group, else outside account ids."""
    out = []
    for value in values:
        text = str(value)
        if text.lower() == "all":
            out.append("everyone (public)")
        elif ctx.external(text):
            out.append(f"account {text}")
    return out


def _shared_outside(record: dict[str, Any], ctx: Context) -> str | None:
    params = _params(record)
    name = record.get("eventName")
    if name == "ModifySnapshotAttribute":
        added = values_at(params, "createVolumePermission.add.items.userId") + values_at(
            params, "createVolumePermission.add.items.group"
        )
        what = f"snapshot {params.get('snapshotId', '?')}"
    elif name == "ModifyImageAttribute":
        added = values_at(params, "launchPermission.add.items.userId") + values_at(
            params, "launchPermission.add.items.group"
        )
        what = f"image {params.get('imageId', '?')}"
    else:
        if str(params.get("attributeName", "")).lower() != "restore":
            return None
        added = values_at(params, "valuesToAdd")
        what = f"DB snapshot {params.get('dBSnapshotIdentifier') or params.get('dBClusterSnapshotIdentifier') or '?'}"
    audience = _audience(added, ctx)
    return f"{what} shared with {', '.join(audience)}" if audience else None


register(
    Rule(
        "TH-EXF-SNAPSHOT-SHARED",
        "Snapshot or machine image shared outside the organization",
        Severity.HIGH,
        "T1537",
        "Sharing an EBS or RDS snapshot or an AMI with another account hands over a full copy of the disk or "
        "database; the copy is then out of reach of any revocation here.",
        match=Match(
            names=(
                "ModifySnapshotAttribute",
                "ModifyImageAttribute",
                "ModifyDBSnapshotAttribute",
                "ModifyDBClusterSnapshotAttribute",
            ),
            where=(eq("eventSource", "ec2.amazonaws.com", "rds.amazonaws.com"), absent("errorCode")),
        ),
        check=_shared_outside,
    )
)

_PUBLIC_GROUPS = ("acs.amazonaws.com/groups/global/AllUsers", "acs.amazonaws.com/groups/global/AuthenticatedUsers")
_PUBLIC_CANNED = ("public-read", "public-read-write", "authenticated-read")
_BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _made_public(record: dict[str, Any], ctx: Context) -> str | None:
    params = _params(record)
    name = record.get("eventName")
    bucket = params.get("bucketName", "?")
    if name in ("PutBucketAcl", "PutObjectAcl"):
        canned = [str(v) for v in values_at(params, "x-amz-acl")]
        text = orjson.dumps(params).decode()
        if any(c in _PUBLIC_CANNED for c in canned) or any(g in text for g in _PUBLIC_GROUPS):
            return f"bucket {bucket}: ACL grants access to everyone"
        return None
    if name == "PutBucketPolicy":
        document = policy.parse(params.get("bucketPolicy") or params.get("policy"))
        for statement in policy.statements(document or {}):
            if policy.allows(statement) and "*" in policy.aws_principals(statement) and not statement.get("Condition"):
                return f"bucket {bucket}: policy allows anyone"
        return None
    if name == "DeleteBucketPublicAccessBlock":
        return f"bucket {bucket}: public access block removed"
    config = params.get("PublicAccessBlockConfiguration")
    if isinstance(config, dict) and any(str(config.get(f, "true")).lower() == "false" for f in _BLOCK_FLAGS):
        return f"bucket {bucket}: public access block weakened"
    return None


register(
    Rule(
        "TH-EXF-BUCKET-PUBLIC",
        "S3 bucket made public",
        Severity.HIGH,
        "T1530",
        "An ACL to AllUsers, a policy allowing Principal *, or a removed public access block puts the bucket's "
        "data one unauthenticated request away from anyone.",
        match=Match(
            S3,
            (
                "PutBucketAcl",
                "PutObjectAcl",
                "PutBucketPolicy",
                "DeleteBucketPublicAccessBlock",
                "PutBucketPublicAccessBlock",
            ),
            (absent("errorCode"),),
        ),
        check=_made_public,
    )
)


def _copied_outside(record: dict[str, Any], ctx: Context) -> str | None:
    params = _params(record)
    if record.get("eventName") == "PutBucketReplication":
        accounts = [str(a) for a in values_at(params, "ReplicationConfiguration.Rule.Destination.Account")]
        outside = [a for a in accounts if ctx.external(a)]
        if outside:
            return f"bucket {params.get('bucketName', '?')} replicates to account {', '.join(sorted(set(outside)))}"
        return None
    owners = [
        str(r.get("accountId"))
        for r in record.get("resources") or []
        if isinstance(r, dict) and r.get("type") == "AWS::S3::Bucket" and r.get("accountId")
    ]
    outside = sorted({a for a in owners if ctx.external(a)})
    if outside:
        return f"{params.get('x-amz-copy-source', 'object')} copied to a bucket of account {', '.join(outside)}"
    return None


register(
    Rule(
        "TH-EXF-S3-EXTERNAL-COPY",
        "Objects copied or replicated to an outside account",
        Severity.HIGH,
        "T1537",
        "Replication rules and server-side copies move data into a bucket the intruder owns, fast and without "
        "the volume of downloads leaving this account's network.",
        match=Match(S3, ("PutBucketReplication", "CopyObject", "UploadPartCopy"), (absent("errorCode"),)),
        check=_copied_outside,
    )
)


def _download_spikes(ctx: Context) -> list[Group]:
    """Bulk downloads by one session that its identity never did before in the case.

    Workloads and data teams read thousands of objects every day; what stands out is volume from
    an identity that had shown nothing comparable before: half this burst's objects or bytes in
    any earlier burst. Bursts in the case's first learning period have no history to compare
    with, so they are not judged.
    """
    t = ctx.thresholds
    where = "e.event_source = ? AND e.event_name = 'GetObject' AND e.error_code IS NULL AND e.access_key_id IS NOT NULL"
    sql = burst_sql(
        where,
        "e.access_key_id",
        t.burst_gap_minutes,
        "coalesce(sum(bytes_out), 0), min(event_time), any_value(coalesce(identity_arn, principal_id, access_key_id))",
    )
    start = ctx.rows("SELECT min(event_time) FROM events")[0][0]
    judged_from = start + learning_window(ctx.store, ctx.options.learning) if start else None
    peak: dict[str, tuple[int, int]] = {}
    groups = []
    for key, first, last, count, sent, began, actor in sorted(ctx.rows(sql, [S3]), key=lambda r: r[5]):
        before_count, before_bytes = peak.get(actor, (0, 0))
        bulk = count >= t.s3_objects or sent >= t.s3_bytes
        unprecedented = before_count * 2 < count and before_bytes * 2 < max(sent, 1)
        if bulk and unprecedented and judged_from is not None and began >= judged_from:
            detail = f"{count} objects, {sent / 2**20:.1f} MiB downloaded with key {key}; before, this identity's "
            detail += f"largest burst was {before_count} objects, {before_bytes / 2**20:.1f} MiB"
            hits = ctx.burst_hits(where, [S3], "e.access_key_id", key, first, last)
            groups.append(Group(hits, detail=detail))
        peak[actor] = (max(before_count, count), max(before_bytes, sent))
    return groups


register(
    Rule(
        "TH-EXF-S3-DOWNLOAD-SPIKE",
        "Bulk S3 downloads from one session",
        Severity.MEDIUM,
        "T1530",
        "Hundreds of GetObject calls or gigabytes out from one credential in one sitting, from an identity "
        "that never moved that much before, is what bucket looting looks like in data events.",
        match=Match(S3, ("GetObject",), (absent("errorCode"),)),
        detect=_download_spikes,
        threshold=Threshold(500, 10),
        notes=("Needs S3 data events in the trail; the threshold is the rule's default, tune it per bucket.",),
    )
)
