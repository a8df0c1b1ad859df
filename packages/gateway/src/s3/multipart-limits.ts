// S3's multipart limits, the same for a client's uploads to the gateway and for the gateway's own uploads of
// large blobs to an upstream S3: a part is 5 MiB to 5 GiB (the last part of an upload may be smaller), and an
// upload has at most 10,000 parts.
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
export const MAX_PARTS = 10_000;
