"""Refused uploads through Python's clients: boto3 (botocore waits for 100 Continue on bodies of 1 MiB and
more) and the standard library's http.client (no Expect: it sends the whole body before it reads anything).

Each refusal is sent over HTTP and HTTPS with 8 and 64 MiB bodies. Prints one JSON document: for every
attempt the status and error code the client saw, or the exception it raised instead (a reset connection
shows as BrokenPipeError, ConnectionResetError, SSLEOFError, ...), plus whether the connection was still
usable afterwards. The TypeScript test asserts on it.
"""
import base64
import hashlib
import http.client
import json
import os
import re
import ssl
from urllib.parse import urlencode, urlparse

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

MiB = 1024 * 1024
env = os.environ
ACCESS, SECRET, WRONG = env["KG_ACCESS_KEY"], env["KG_SECRET_KEY"], "not-the-secret"
ENDPOINTS = {"http": env["KG_ENDPOINT"], "https": env["KG_TLS_ENDPOINT"]}
CA = env["KG_CA_FILE"]
BUCKET, UPLOAD_KEY, UPLOAD_ID = env["KG_BUCKET"], env["KG_UPLOAD_KEY"], env["KG_UPLOAD_ID"]
OTHER_KEY = base64.b64decode(env["KG_OTHER_SSEC_KEY"])
SIZES = [8 * MiB, 64 * MiB]
BODIES = {n: os.urandom(n) for n in SIZES}

# name -> (path, query, extra headers, secret)
PART = {"partNumber": "1", "uploadId": UPLOAD_ID}
SSEC_OTHER = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": base64.b64encode(OTHER_KEY).decode(),
    "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(hashlib.md5(OTHER_KEY).digest()).decode(),
}
KMS_UNKNOWN = {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "no-such-key"}
CASES = {
    "part-without-key": (f"/{BUCKET}/{UPLOAD_KEY}", PART, {}, SECRET),
    "part-other-key": (f"/{BUCKET}/{UPLOAD_KEY}", PART, SSEC_OTHER, SECRET),
    "bad-signature": (f"/{BUCKET}/new", {}, {}, WRONG),
    "missing-bucket": ("/no-such-bucket/new", {}, {}, SECRET),
    "unknown-kms-key": (f"/{BUCKET}/new", {}, KMS_UNKNOWN, SECRET),
}


def error_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


def boto3_client(transport, secret):
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINTS[transport],
        verify=CA if transport == "https" else None,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        # One attempt: a retry would hide that the first one failed.
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "standard"}),
    )


def boto3_attempt(clients, transport, name, body):
    s3 = clients[(transport, WRONG if name == "bad-signature" else SECRET)]
    try:
        if name == "part-without-key":
            s3.upload_part(Bucket=BUCKET, Key=UPLOAD_KEY, UploadId=UPLOAD_ID, PartNumber=1, Body=body)
        elif name == "part-other-key":
            s3.upload_part(Bucket=BUCKET, Key=UPLOAD_KEY, UploadId=UPLOAD_ID, PartNumber=1, Body=body,
                           SSECustomerAlgorithm="AES256", SSECustomerKey=OTHER_KEY)
        elif name == "bad-signature":
            s3.put_object(Bucket=BUCKET, Key="new", Body=body)
        elif name == "missing-bucket":
            s3.put_object(Bucket="no-such-bucket", Key="new", Body=body)
        elif name == "unknown-kms-key":
            s3.put_object(Bucket=BUCKET, Key="new", Body=body, ServerSideEncryption="aws:kms", SSEKMSKeyId="no-such-key")
        return {"accepted": True}
    except s3.exceptions.ClientError as e:
        return {"status": e.response["ResponseMetadata"]["HTTPStatusCode"], "code": e.response["Error"]["Code"]}
    except Exception as e:  # a transport failure: what this test is about
        return {"exception": f"{type(e).__name__}: {e}"}


def signed_headers(transport, method, path, query, headers, secret, payload_hash="UNSIGNED-PAYLOAD"):
    url = ENDPOINTS[transport] + path + ("?" + urlencode(query) if query else "")
    req = AWSRequest(method=method, url=url, headers={"x-amz-content-sha256": payload_hash, **headers})
    S3SigV4Auth(Credentials(ACCESS, secret), "s3", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def http_connection(transport):
    u = urlparse(ENDPOINTS[transport])
    if transport == "https":
        return http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=CA))
    return http.client.HTTPConnection(u.hostname, u.port)


def http_client_attempt(conn, transport, name, body):
    path, query, headers, secret = CASES[name]
    target = path + ("?" + urlencode(query) if query else "")
    try:
        conn.request("PUT", target, body=body, headers=signed_headers(transport, "PUT", path, query, headers, secret))
        r = conn.getresponse()
        data = r.read()
        return {"status": r.status, "code": error_code(data)}
    except Exception as e:
        conn.close()
        return {"exception": f"{type(e).__name__}: {e}"}


def http_client_reuse(conn, transport):
    """A GET on the same connection after the refusals: 200, and on the same socket."""
    sock = conn.sock
    path = f"/{BUCKET}/existing"
    try:
        conn.request("GET", path, headers=signed_headers(transport, "GET", path, {}, {}, SECRET, hashlib.sha256(b"").hexdigest()))
        r = conn.getresponse()
        r.read()
        return {"status": r.status, "same_socket": sock is not None and conn.sock is sock}
    except Exception as e:
        return {"exception": f"{type(e).__name__}: {e}"}


out = {"boto3": [], "http_client": [], "http_client_reuse": [], "boto3_after": []}
clients = {(t, s): boto3_client(t, s) for t in ENDPOINTS for s in (SECRET, WRONG)}
for transport in ENDPOINTS:
    for size in SIZES:
        for name in CASES:
            r = boto3_attempt(clients, transport, name, BODIES[size])
            out["boto3"].append({"transport": transport, "size": size, "case": name, **r})
    # The pooled connections still serve requests.
    head = clients[(transport, SECRET)].head_object(Bucket=BUCKET, Key="existing")
    out["boto3_after"].append({"transport": transport, "length": head["ContentLength"]})

    for size in SIZES:
        conn = http_connection(transport)
        for name in CASES:
            r = http_client_attempt(conn, transport, name, BODIES[size])
            out["http_client"].append({"transport": transport, "size": size, "case": name, **r})
        out["http_client_reuse"].append({"transport": transport, "size": size, **http_client_reuse(conn, transport)})
        conn.close()

print(json.dumps(out))
