"""boto3 (Debian's python3-boto3 1.26) signing with Signature Version 2, as it does by default for
presigned URLs and presigned POST forms, and for every request with signature_version='s3'.

Reads its endpoint and credentials from the environment, runs the operations, checks every byte itself,
and prints one JSON document of what it saw for the TypeScript test to assert on.
"""
import hashlib
import json
import os
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from urllib3 import encode_multipart_formdata

env = os.environ
common = dict(
    aws_access_key_id=env["KG_ACCESS_KEY"],
    aws_secret_access_key=env["KG_SECRET_KEY"],
    region_name="us-east-1",
    endpoint_url=env["KG_ENDPOINT"],
)
path_style = {"addressing_style": "path"}
# The default client: SigV4 requests, SigV2 presigned URLs and POST forms (botocore 1.29's default).
s3 = boto3.client("s3", config=Config(s3=path_style, retries={"max_attempts": 1}), **common)
# Every request signed with SigV2 (`Authorization: AWS AKID:signature`).
v2 = boto3.client("s3", config=Config(s3=path_style, signature_version="s3", retries={"max_attempts": 1}), **common)
# Presigned POST forms signed with SigV4, for comparison.
v4 = boto3.client("s3", config=Config(s3=path_style, signature_version="s3v4", retries={"max_attempts": 1}), **common)
bucket, kms_key = env["KG_BUCKET"], env["KG_KMS_KEY"]
out = {}


def body(n, seed):
    block = hashlib.sha256(seed.encode()).digest() * 32  # 1 KiB
    return (block * (n // len(block) + 1))[:n]


def http(method, url, data=None, headers=None):
    """(status, body, headers) of a plain HTTP request, errors included."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def code_of(xml):
    text = xml.decode("utf-8", "replace")
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else text[:200]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_form(url, fields, filename, data):
    """POSTs a form as a browser would: the fields, then the file last."""
    parts = list(fields.items()) + [("file", (filename, data, "application/octet-stream"))]
    payload, content_type = encode_multipart_formdata(parts)
    req = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.build_opener(NoRedirect).open(req) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


s3.create_bucket(Bucket=bucket)
existing = body(100_000, "existing")
s3.put_object(Bucket=bucket, Key="existing", Body=existing)

# ---- presigned URLs, SigV2 by default ----
url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "existing"}, ExpiresIn=300)
status, got, _ = http("GET", url)
out["presigned_get"] = {"v2": "AWSAccessKeyId=" in url and "Signature=" in url, "status": status, "equal": got == existing}

data = body(70_000, "presigned put")
# The Content-Type is signed (botocore puts it in the query); the uploader sends the same one.
url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "presigned-put", "ContentType": "application/x-boto"}, ExpiresIn=300)
status, err, _ = http("PUT", url, data=data, headers={"Content-Type": "application/x-boto"})
stored = s3.get_object(Bucket=bucket, Key="presigned-put") if status == 200 else None
out["presigned_put"] = {"status": status, "equal": stored is not None and stored["Body"].read() == data, "error": code_of(err) if status != 200 else None}

# SSE parameters of a presigned PUT travel, signed, in the query: they apply.
url = s3.generate_presigned_url(
    "put_object", Params={"Bucket": bucket, "Key": "presigned-kms", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}, ExpiresIn=300
)
status, _, _ = http("PUT", url, data=data, headers={"Content-Type": ""})
h = s3.head_object(Bucket=bucket, Key="presigned-kms") if status == 200 else {}
out["presigned_put_kms"] = {"status": status, "sse": h.get("ServerSideEncryption"), "key": h.get("SSEKMSKeyId")}

url = s3.generate_presigned_url(
    "get_object", Params={"Bucket": bucket, "Key": "existing", "ResponseContentType": "text/x-boto"}, ExpiresIn=300
)
status, _, headers = http("GET", url)
out["presigned_override"] = {"status": status, "content_type": headers.get("Content-Type")}

expired = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "existing"}, ExpiresIn=-10)
status, err, _ = http("GET", expired)
out["presigned_expired"] = [status, code_of(err), b"Request has expired" in err]
forged = url.replace("Signature=", "Signature=AAAA", 1)
status, err, _ = http("GET", forged)
out["presigned_forged"] = [status, code_of(err)]

# ---- header-signed requests (signature_version='s3') ----
data = body(300_000, "v2 put")
r = v2.put_object(Bucket=bucket, Key="v2/obj", Body=data, ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key, Metadata={"who": "v2"}, ContentType="text/plain")
out["v2_put"] = {"sse": r.get("ServerSideEncryption"), "key": r.get("SSEKMSKeyId")}
h = v2.head_object(Bucket=bucket, Key="v2/obj")
out["v2_head"] = {"length": h["ContentLength"], "meta": h["Metadata"].get("who"), "type": h["ContentType"]}
out["v2_get"] = v2.get_object(Bucket=bucket, Key="v2/obj")["Body"].read() == data
out["v2_range"] = v2.get_object(Bucket=bucket, Key="v2/obj", Range="bytes=1000-1999")["Body"].read() == data[1000:2000]
out["v2_list"] = [o["Key"] for o in v2.list_objects(Bucket=bucket, Prefix="v2/")["Contents"]]
# (Not list_objects_v2: botocore signs its path-style request with "?list-type=2" in the resource, which
# AWS refuses as well — boto/boto3#4433.)
out["v2_list_all"] = [o["Key"] for o in v2.list_objects(Bucket=bucket)["Contents"]]
v2.delete_object(Bucket=bucket, Key="v2/obj")
out["v2_deleted"] = "Contents" not in v2.list_objects(Bucket=bucket, Prefix="v2/")

bad = boto3.client(
    "s3",
    config=Config(s3=path_style, signature_version="s3", retries={"max_attempts": 1}),
    **{**common, "aws_secret_access_key": "not-the-secret-key"},
)
try:
    bad.put_object(Bucket=bucket, Key="v2/forged", Body=b"x")
    out["v2_forged"] = "no error"
except bad.exceptions.ClientError as e:
    out["v2_forged"] = [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]

# ---- presigned POST forms: SigV2 by default, SigV4 on request ----
data = body(20_000, "form")
post = s3.generate_presigned_post(
    bucket,
    "forms/${filename}",
    Fields={"success_action_status": "201", "x-amz-meta-via": "form"},
    Conditions=[{"success_action_status": "201"}, {"x-amz-meta-via": "form"}, ["content-length-range", 1, 100_000]],
    ExpiresIn=300,
)
status, xml, _ = post_form(post["url"], post["fields"], "upload.bin", data)
stored = s3.get_object(Bucket=bucket, Key="forms/upload.bin")
out["post_v2"] = {
    "v2": "AWSAccessKeyId" in post["fields"] and "signature" in post["fields"],
    "status": status,
    "key_in_reply": b"<Key>forms/upload.bin</Key>" in xml,
    "equal": stored["Body"].read() == data,
    "meta": stored["Metadata"].get("via"),
    "sse": stored.get("ServerSideEncryption"),
}
status, err, _ = post_form(post["url"], post["fields"], "big.bin", body(100_001, "too big"))
out["post_v2_too_large"] = [status, code_of(err)]

post = v4.generate_presigned_post(bucket, "forms/v4.bin", Fields={"x-amz-server-side-encryption": "aws:kms"}, Conditions=[{"x-amz-server-side-encryption": "aws:kms"}])
status, _, _ = post_form(post["url"], post["fields"], "v4.bin", data)
h = s3.head_object(Bucket=bucket, Key="forms/v4.bin")
out["post_v4"] = {"v4": "x-amz-signature" in post["fields"], "status": status, "sse": h.get("ServerSideEncryption")}

tampered = dict(post["fields"], key="forms/elsewhere.bin")
status, err, _ = post_form(post["url"], tampered, "x.bin", data)
out["post_v4_condition"] = [status, code_of(err)]

print(json.dumps(out))
