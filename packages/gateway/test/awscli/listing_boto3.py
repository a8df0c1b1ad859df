"""boto3 (Debian's python3-boto3) listing a kesgate bucket whose keys need URL-encoding, then emptying it
version by version as Terraform's force_destroy and boto3's bucket.object_versions.delete() do.

botocore asks for encoding-type=url on ListObjects, ListObjectsV2 and ListObjectVersions and decodes the
fields it knows AWS encodes; a field the gateway encodes that botocore does not decode (or the reverse)
shows up here as a key or prefix that differs from what was stored. Prints one JSON document of what it
saw; exit status 1 on an exception.
"""
import json
import os
import sys
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config

env = os.environ
s3 = boto3.client(
    "s3",
    endpoint_url=env["KG_ENDPOINT"],
    aws_access_key_id=env["KG_ACCESS_KEY"],
    aws_secret_access_key=env["KG_SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
bucket = env["KG_BUCKET"]
KEYS = sorted(
    ["\nnewline", "a b/space", "a+b/plus", "100%/percent", "caf\u00e9/\u65e5\u672c", "dir/x y", "dir/x+y", "plain"],
    key=lambda k: k.encode("utf-8"),
)
out = {"keys": KEYS}

s3.create_bucket(Bucket=bucket)
for k in KEYS:
    s3.put_object(Bucket=bucket, Key=k, Body=k.encode("utf-8"))

# ListObjects (V1): botocore decodes keys, common prefixes, Marker and NextMarker, but not Prefix.
v1 = s3.list_objects(Bucket=bucket, Prefix="\n")
out["v1_newline_prefix"] = v1.get("Prefix")
out["v1_newline_keys"] = [o["Key"] for o in v1.get("Contents", [])]
pages = s3.get_paginator("list_objects").paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2})
v1_keys, v1_prefixes, v1_markers = [], [], []
for p in pages:
    v1_keys += [o["Key"] for o in p.get("Contents", [])]
    v1_prefixes += [c["Prefix"] for c in p.get("CommonPrefixes", [])]
    v1_markers.append(p.get("Marker"))
out["v1_keys"], out["v1_prefixes"], out["v1_markers"] = v1_keys, v1_prefixes, v1_markers
out["v1_dir"] = [o["Key"] for o in s3.list_objects(Bucket=bucket, Prefix="dir/x ", Marker="dir/x")["Contents"]]

# ListObjectsV2: Prefix, StartAfter, Delimiter, keys and common prefixes are decoded.
v2_keys = []
for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}):
    v2_keys += [o["Key"] for o in p.get("Contents", [])]
out["v2_keys"] = v2_keys
v2 = s3.list_objects_v2(Bucket=bucket, Prefix="a+b/", StartAfter="a b/space", Delimiter="/")
out["v2_prefix"] = [v2.get("Prefix"), v2.get("StartAfter"), v2.get("Delimiter"), [o["Key"] for o in v2.get("Contents", [])]]
out["v2_common"] = [c["Prefix"] for c in s3.list_objects_v2(Bucket=bucket, Delimiter="/").get("CommonPrefixes", [])]

# ListObjectVersions: KeyMarker, NextKeyMarker, Prefix, Delimiter, keys and common prefixes are decoded.
versions, version_ids, key_markers = [], set(), []
for p in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}):
    versions += [v["Key"] for v in p.get("Versions", [])]
    version_ids |= {(v["VersionId"], v["IsLatest"]) for v in p.get("Versions", [])}
    key_markers.append(p.get("KeyMarker"))
    if p.get("DeleteMarkers"):
        version_ids.add("delete-marker")
out["versions"], out["version_ids"], out["version_key_markers"] = versions, sorted(map(str, version_ids)), key_markers
lv = s3.list_object_versions(Bucket=bucket, Prefix="caf\u00e9/", Delimiter="/")
out["versions_prefix"] = [lv.get("Prefix"), lv.get("Delimiter"), [v["Key"] for v in lv.get("Versions", [])]]

# ListMultipartUploads: botocore does not ask for encoding-type here, nor decode it; asked explicitly,
# the fields AWS encodes come back encoded, and decode to the keys.
uploads = {k: s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"] for k in ["a b/up", "a+b/up", "\nup", "caf\u00e9/up"]}
lu = s3.list_multipart_uploads(Bucket=bucket, EncodingType="url", KeyMarker="\n", Prefix="", MaxUploads=2)
out["uploads_encoded"] = {
    "keys": [u["Key"] for u in lu.get("Uploads", [])],
    "key_marker": lu.get("KeyMarker"),
    "next_key_marker": lu.get("NextKeyMarker"),
    "encoding_type": lu.get("EncodingType"),
}
all_uploads = s3.list_multipart_uploads(Bucket=bucket, EncodingType="url", Delimiter="/")
out["uploads_decoded"] = sorted(unquote_plus(u["Key"]) for u in all_uploads.get("Uploads", [])) + sorted(
    unquote_plus(c["Prefix"]) for c in all_uploads.get("CommonPrefixes", [])
)
out["uploads_plain"] = sorted(u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))
for k, upload_id in uploads.items():
    s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=upload_id)

# Empty the bucket version by version (DeleteObjects with VersionId "null"), then delete it.
b = boto3.resource(
    "s3",
    endpoint_url=env["KG_ENDPOINT"],
    aws_access_key_id=env["KG_ACCESS_KEY"],
    aws_secret_access_key=env["KG_SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
).Bucket(bucket)
deleted = b.object_versions.delete()
out["versions_delete"] = sorted(d["Key"] for r in deleted for d in r.get("Deleted", []))
out["versions_delete_errors"] = [e for r in deleted for e in r.get("Errors", [])]
out["left"] = s3.list_objects_v2(Bucket=bucket).get("KeyCount")
b.delete()
try:
    s3.head_bucket(Bucket=bucket)
    out["bucket_gone"] = False
except s3.exceptions.ClientError as e:
    out["bucket_gone"] = e.response["ResponseMetadata"]["HTTPStatusCode"] == 404

json.dump(out, sys.stdout)
