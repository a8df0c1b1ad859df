"""boto3 (Debian's python3-boto3) against a kesgate gateway: a second, independent S3 client.

Reads its endpoints and credentials from the environment, runs the operations, checks every byte itself,
and prints one JSON document of what it saw for the TypeScript test to assert on. Exit status 1 on failure.
"""
import hashlib
import json
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

MiB = 1024 * 1024
env = os.environ
common = dict(
    aws_access_key_id=env["KG_ACCESS_KEY"],
    aws_secret_access_key=env["KG_SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
s3 = boto3.client("s3", endpoint_url=env["KG_ENDPOINT"], **common)
s3tls = boto3.client("s3", endpoint_url=env["KG_TLS_ENDPOINT"], verify=env["KG_CA_FILE"], **common)
bucket, kms_key = env["KG_BUCKET"], env["KG_KMS_KEY"]
out = {}


def body(n, seed):
    block = hashlib.sha256(seed.encode()).digest() * 32  # 1 KiB
    return (block * (n // len(block) + 1))[:n]


s3.create_bucket(Bucket=bucket)
data = body(300_000, "single")

r = s3.put_object(Bucket=bucket, Key="s3", Body=data, ServerSideEncryption="AES256")
out["s3_put"] = {"sse": r.get("ServerSideEncryption"), "etag_is_md5": r["ETag"].strip('"') == hashlib.md5(data).hexdigest()}
out["s3_get"] = s3.get_object(Bucket=bucket, Key="s3")["Body"].read() == data

r = s3.put_object(Bucket=bucket, Key="kms", Body=data, ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key)
h = s3.head_object(Bucket=bucket, Key="kms")
out["kms_head"] = {"sse": h.get("ServerSideEncryption"), "key": h.get("SSEKMSKeyId"), "length": h["ContentLength"]}
out["kms_range"] = s3.get_object(Bucket=bucket, Key="kms", Range="bytes=65530-131080")["Body"].read() == data[65530:131081]

key = os.urandom(32)
ssec = dict(SSECustomerAlgorithm="AES256", SSECustomerKey=key)
s3tls.put_object(Bucket=bucket, Key="ssec", Body=data, **ssec)
out["ssec_get"] = s3tls.get_object(Bucket=bucket, Key="ssec", **ssec)["Body"].read() == data
try:
    s3tls.get_object(Bucket=bucket, Key="ssec", SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(32))
    out["ssec_wrong_key"] = "no error"
except s3tls.exceptions.ClientError as e:
    out["ssec_wrong_key"] = [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]

# Multipart through boto3's transfer manager (parts of 5 MiB, SSE-KMS), then a read across a part boundary.
path = os.path.join(env["KG_DIR"], "big.bin")
big = body(12 * MiB + 7, "multipart")
with open(path, "wb") as f:
    f.write(big)
s3.upload_file(path, bucket, "mp", ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key},
               Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
got = s3.get_object(Bucket=bucket, Key="mp")
out["mp"] = {"etag_parts": got["ETag"].strip('"').split("-")[-1], "equal": got["Body"].read() == big}
out["mp_range"] = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={5 * MiB - 10}-{5 * MiB + 10}")["Body"].read() == big[5 * MiB - 10:5 * MiB + 11]

# Copy SSE-C → SSE-KMS, then list and delete.
s3tls.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "ssec"},
                  CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=key,
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key)
out["copy"] = s3.get_object(Bucket=bucket, Key="copied")["Body"].read() == data
out["list"] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in out["list"]]})
out["after_delete"] = s3.list_objects_v2(Bucket=bucket).get("KeyCount")

json.dump(out, sys.stdout)
