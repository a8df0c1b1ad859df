"""boto3 (Debian's python3-boto3) against a versioning-enabled kesgate bucket.

Turns versioning on, writes versions, reads each by id, lists them with bucket.object_versions (the
resource API's paginator) and list_object_versions, deletes with delete markers and delete_objects with
VersionId, suspends versioning, and prints one JSON document of what it saw. Exit status 1 on failure.
"""
import json
import os

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

env = os.environ
common = dict(
    aws_access_key_id=env["KG_ACCESS_KEY"],
    aws_secret_access_key=env["KG_SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
s3 = boto3.client("s3", endpoint_url=env["KG_ENDPOINT"], **common)
resource = boto3.resource("s3", endpoint_url=env["KG_ENDPOINT"], **common)
bucket = env["KG_BUCKET"]
out = {}

s3.create_bucket(Bucket=bucket)
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
out["status"] = s3.get_bucket_versioning(Bucket=bucket).get("Status")

ids = []
for i in range(3):
    ids.append(s3.put_object(Bucket=bucket, Key="doc", Body=f"version {i}".encode())["VersionId"])
s3.put_object(Bucket=bucket, Key="other", Body=b"other", ServerSideEncryption="aws:kms", SSEKMSKeyId=env["KG_KMS_KEY"])
out["distinct_ids"] = len(set(ids)) == 3
out["bodies"] = [s3.get_object(Bucket=bucket, Key="doc", VersionId=v)["Body"].read().decode() for v in ids]
out["head_version"] = s3.head_object(Bucket=bucket, Key="doc")["VersionId"] == ids[2]

# The resource API's object_versions pages with key-marker / version-id-marker (page_size 2 forces paging).
out["object_versions"] = [
    (v.object_key, v.id == ids[2 - i] if v.object_key == "doc" else True, v.is_latest)
    for i, v in enumerate(resource.Bucket(bucket).object_versions.page_size(2))
]

marker = s3.delete_object(Bucket=bucket, Key="doc")
out["delete_marker"] = [marker.get("DeleteMarker"), len(marker.get("VersionId", ""))]
try:
    s3.get_object(Bucket=bucket, Key="doc")
    out["get_after_delete"] = "found"
except ClientError as e:
    out["get_after_delete"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker")]
listed = s3.list_object_versions(Bucket=bucket, Prefix="doc")
out["markers"] = [(m["Key"], m["IsLatest"]) for m in listed.get("DeleteMarkers", [])]
out["versions_after_delete"] = len(listed.get("Versions", []))

# delete_objects with VersionId: the marker (so the object returns) and the oldest version for good.
r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "doc", "VersionId": marker["VersionId"]}, {"Key": "doc", "VersionId": ids[0]}]})
out["delete_objects"] = sorted((d["Key"], d["VersionId"] == marker["VersionId"], d.get("DeleteMarker", False)) for d in r.get("Deleted", []))
out["after_delete_objects"] = s3.get_object(Bucket=bucket, Key="doc")["Body"].read().decode()
try:
    s3.get_object(Bucket=bucket, Key="doc", VersionId=ids[0])
    out["removed_version"] = "found"
except ClientError as e:
    out["removed_version"] = e.response["Error"]["Code"]

s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
s3.put_object(Bucket=bucket, Key="doc", Body=b"null version")
out["suspended"] = [
    s3.get_bucket_versioning(Bucket=bucket).get("Status"),
    [(v["VersionId"] == "null", v["IsLatest"]) for v in s3.list_object_versions(Bucket=bucket, Prefix="doc")["Versions"]],
]

# Emptying a versioned bucket version by version, as backup tools do, then deleting it.
resource.Bucket(bucket).object_versions.delete()
s3.delete_bucket(Bucket=bucket)
out["emptied"] = True

print(json.dumps(out))
