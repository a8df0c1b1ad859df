// The object's path as the format binds it (FORMAT.md): into the KEK that seals its key, and, in the gateway,
// into the KMS context of its data key, as MinIO does.

/** `bucket + "/" + key`, taken as is: not cleaned (unlike MinIO's path.Join), so `a//b` and `a/b` differ. */
export function objectPath(bucket: string, key: string): string {
  return `${bucket}/${key}`;
}
