"""The ``cloudtrail_logs`` view: the local store under the Athena CloudTrail table's column names.

A responder who has a query written for Athena (or who will hand one to a colleague with an
organization trail behind Athena) runs it here unchanged, and the other way round. Typed columns
come from ``events``; everything else is read from the stored record with DuckDB's JSON functions.
Trino's ``json_extract_scalar`` and ``from_iso8601_timestamp`` are provided as macros.
"""

from __future__ import annotations

import duckdb


def _j(path: str) -> str:
    return f"json_extract_string(r.raw, '$.{path}')"


def _jtext(path: str) -> str:
    return f"CAST(json_extract(r.raw, '$.{path}') AS VARCHAR)"


_IDENTITY = f"""struct_pack(
    type := e.identity_type, principalid := e.principal_id, arn := e.identity_arn,
    accountid := e.identity_account_id, invokedby := e.invoked_by, accesskeyid := e.access_key_id,
    username := e.user_name,
    onbehalfof := struct_pack(userid := {_j("userIdentity.onBehalfOf.userId")},
                              identitystorearn := {_j("userIdentity.onBehalfOf.identityStoreArn")}),
    sessioncontext := struct_pack(
        attributes := struct_pack(
            mfaauthenticated := {_j("userIdentity.sessionContext.attributes.mfaAuthenticated")},
            creationdate := {_j("userIdentity.sessionContext.attributes.creationDate")}),
        sessionissuer := struct_pack(
            type := e.session_issuer_type,
            principalid := {_j("userIdentity.sessionContext.sessionIssuer.principalId")},
            arn := e.session_issuer_arn,
            accountid := {_j("userIdentity.sessionContext.sessionIssuer.accountId")},
            username := {_j("userIdentity.sessionContext.sessionIssuer.userName")}),
        ec2roledelivery := {_j("userIdentity.sessionContext.ec2RoleDelivery")},
        sourceidentity := e.source_identity,
        webidfederationdata := struct_pack(
            federatedprovider := {_j("userIdentity.sessionContext.webIdFederationData.federatedProvider")},
            attributes := {_jtext("userIdentity.sessionContext.webIdFederationData.attributes")})))"""

_RESOURCES = """list_transform(
    from_json(json_extract(r.raw, '$.resources'), '[{"ARN":"VARCHAR","accountId":"VARCHAR","type":"VARCHAR"}]'),
    lambda x: struct_pack(arn := x."ARN", accountid := x."accountId", type := x."type"))"""

VIEW_SQL = f"""
CREATE OR REPLACE VIEW cloudtrail_logs AS
SELECT
    e.event_version AS eventversion,
    {_IDENTITY} AS useridentity,
    {_j("eventTime")} AS eventtime,
    e.event_source AS eventsource,
    e.event_name AS eventname,
    e.aws_region AS awsregion,
    e.source_ip AS sourceipaddress,
    e.user_agent AS useragent,
    e.error_code AS errorcode,
    e.error_message AS errormessage,
    {_jtext("requestParameters")} AS requestparameters,
    {_jtext("responseElements")} AS responseelements,
    {_jtext("additionalEventData")} AS additionaleventdata,
    e.request_id AS requestid,
    e.event_id AS eventid,
    {_RESOURCES} AS resources,
    e.event_type AS eventtype,
    {_j("apiVersion")} AS apiversion,
    CASE WHEN e.read_only IS NULL THEN NULL WHEN e.read_only THEN 'true' ELSE 'false' END AS readonly,
    e.recipient_account_id AS recipientaccountid,
    {_jtext("serviceEventDetails")} AS serviceeventdetails,
    e.shared_event_id AS sharedeventid,
    e.vpc_endpoint_id AS vpcendpointid,
    {_j("vpcEndpointAccountId")} AS vpcendpointaccountid,
    e.event_category AS eventcategory,
    struct_pack(reason := {_j("addendum.reason")}, updatedfields := {_j("addendum.updatedFields")},
                originalrequestid := {_j("addendum.originalRequestID")},
                originaleventid := {_j("addendum.originalEventID")}) AS addendum,
    {_j("sessionCredentialFromConsole")} AS sessioncredentialfromconsole,
    {_jtext("edgeDeviceDetails")} AS edgedevicedetails,
    struct_pack(tlsversion := {_j("tlsDetails.tlsVersion")}, ciphersuite := {_j("tlsDetails.cipherSuite")},
                clientprovidedhostheader := {_j("tlsDetails.clientProvidedHostHeader")}) AS tlsdetails,
    e.aws_region AS region,
    strftime(e.event_time, '%Y') AS year,
    strftime(e.event_time, '%m') AS month,
    strftime(e.event_time, '%d') AS day,
    e.event_time AS th_event_time,
    e.seq AS th_seq
FROM events e JOIN raw_events r ON r.rid = e.rid
"""

MACROS = (
    "CREATE OR REPLACE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)",
    "CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
)


def create_athena_view(con: duckdb.DuckDBPyConnection) -> None:
    for macro in MACROS:
        con.execute(macro)
    con.execute(VIEW_SQL)
