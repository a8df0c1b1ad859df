// The storage contract of the gateway. A backend stores opaque (already encrypted) byte streams
// and metadata records with S3's bucket, listing and multipart semantics; it knows nothing of
// HTTP, SigV4 or cryptography. One implementation, LayeredObjectStore (object-store.ts), serves it over a
// metadata store (metadata/: SQLite, PostgreSQL) and a blob store (blobs/: fs, s3).
import type { Readable, Writable } from 'node:stream';
import type { StoredSSE } from './sse-record.js';

// ---------------------------------------------------------------- buckets

export type BucketSse = 'AES256' | 'aws:kms';

/** A bucket's default encryption (PutBucketEncryption), as parsed by the handler. */
export interface BucketEncryption {
  sse: BucketSse;
  kmsKeyId?: string;
  /** BucketKeyEnabled, when the configuration said either way. */
  bucketKeyEnabled?: boolean;
}

export interface BucketInfo {
  name: string;
  createdAt: Date;
}

/**
 * A bucket's versioning state (PutBucketVersioning). A bucket starts Unversioned; once Enabled it can only
 * be Suspended and Enabled again, never Unversioned.
 */
export type BucketVersioning = 'Unversioned' | 'Enabled' | 'Suspended';

/** The id of the version written while versioning was off (Unversioned or Suspended), as S3 names it. */
export const NULL_VERSION = 'null';

export interface CreateBucketOptions {
  encryption?: BucketEncryption;
}

/** One tag of an object or a bucket; order is kept as given. */
export interface Tag {
  key: string;
  value: string;
}

/** One CORS rule of a bucket (PutBucketCors), as parsed by the handler. */
export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export type ObjectOwnership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';

export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

/**
 * A bucket's sub-resource configurations that the gateway stores as documents, by name. Storage keeps
 * each as given and knows nothing of its rules; absent means "none configured".
 */
export interface BucketSettings {
  tagging: Tag[];
  cors: CorsRule[];
  ownershipControls: { objectOwnership: ObjectOwnership };
  publicAccessBlock: PublicAccessBlock;
}
export type BucketSettingName = keyof BucketSettings;

// ---------------------------------------------------------------- objects

export const STANDARD_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;
export type StandardHeaderName = (typeof STANDARD_HEADERS)[number];
/** The standard headers that round-trip with an object, keyed by their lower-case HTTP names. */
export type StandardHeaders = Partial<Record<StandardHeaderName, string>>;

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256' | 'CRC64NVME';
export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

export interface ObjectChecksum {
  algorithm: ChecksumAlgorithm;
  /** base64, as S3 returns it */
  value: string;
  type: ChecksumType;
}

/** The SSE record stored with an object or upload: its shape is checked where rows are read (sse-record.ts). */
export type { SSEKind, StoredBucketKey, StoredSSE } from './sse-record.js';

/**
 * One part of an object: its encrypted bytes live in their own data file named by `dataId`, or, for a small
 * object's one part, in the metadata row itself (`inline`; `dataId` then names no data file).
 */
export interface PartRecord {
  /** 1..10000; a single-part object has one part (conventionally number 1). */
  number: number;
  plainSize: number;
  /** Exact byte length of the data file. */
  encSize: number;
  etag: string;
  /** Internal data id returned by createDataWriter; never derived from the user's key. */
  dataId: string;
  /** Opaque per-part fields (e.g. a part checksum), stored and returned as given. */
  extra?: Record<string, unknown>;
  /** The encrypted bytes (encSize of them) when stored inline, which the store decides; never plaintext. */
  inline?: Buffer;
}

/** Where a part's bytes are read from: its record (inline or a data file), or a data file's id. */
export type PartData = string | Pick<PartRecord, 'dataId' | 'inline'>;

export interface ObjectMetadata {
  contentType?: string;
  userMetadata: Record<string, string>;
  standardHeaders: StandardHeaders;
  /** The object's tag set (x-amz-tagging, PutObjectTagging); absent when it has none. */
  tags?: Tag[];
}

export interface ObjectRecord extends ObjectMetadata {
  bucket: string;
  key: string;
  /** The version's id: NULL_VERSION ("null"), or an opaque URL-safe id issued while versioning was Enabled. */
  versionId: string;
  deleteMarker?: false;
  /**
   * Changes on every write of the object, including updateObjectSSE. Opaque. The handle for
   * compare-and-swap: an ETag is not one (two PUTs of the same bytes under SSE-S3 share an ETag).
   */
  revision: string;
  /** Plaintext size: the sum of the parts' plainSize. */
  size: number;
  etag: string;
  lastModified: Date;
  checksum?: ObjectChecksum;
  sse: StoredSSE;
  parts: PartRecord[];
}

/** A delete marker: the version a DELETE without a version id writes in a versioned bucket. It has no data. */
export interface DeleteMarker {
  bucket: string;
  key: string;
  versionId: string;
  deleteMarker: true;
  lastModified: Date;
}

/** One version of a key: an object or a delete marker. */
export type ObjectVersion = ObjectRecord | DeleteMarker;

/** A version looked up, with the bucket's versioning state (which decides the x-amz-version-id header). */
export interface VersionLookup {
  /** undefined when the key (or the asked version) does not exist. */
  version: ObjectVersion | undefined;
  /** Whether that version is the key's latest. */
  isLatest: boolean;
  versioning: BucketVersioning;
}

/**
 * A condition checked atomically with a write. Every given field must hold, else
 * PreconditionFailed and nothing changes.
 */
export interface WritePrecondition {
  /** The object must not exist (If-None-Match: *). */
  ifNoneMatch?: '*';
  /** The object must exist with this ETag (If-Match). Quotes are ignored. */
  ifMatchEtag?: string;
  /** The object must exist with this revision. */
  ifRevision?: string;
}

export interface PutObjectInput extends ObjectMetadata {
  bucket: string;
  key: string;
  /** Plaintext size; must equal the sum of the parts' plainSize. */
  size: number;
  etag: string;
  checksum?: ObjectChecksum;
  sse: StoredSSE;
  /** At least one part; each dataId must come from a finished DataWriter of this store. */
  parts: PartRecord[];
  precondition?: WritePrecondition;
}

/** What DeleteObject(s) names: a key (its latest version, as the bucket's versioning says) or one version. */
export interface DeleteTarget {
  key: string;
  versionId?: string;
}

export interface DeleteResult {
  key: string;
  /** false when there was no such object (S3 still reports success for it). */
  deleted: boolean;
  /** The version removed for good, when a version id was named. */
  versionId?: string;
  /**
   * With a version id: whether the version removed was a delete marker. Without one: whether the delete
   * wrote a delete marker (a versioned bucket), whose id is deleteMarkerVersionId.
   */
  deleteMarker?: boolean;
  deleteMarkerVersionId?: string;
  versioning?: BucketVersioning;
}

/** Reads a byte range of stored data in order. */
export interface PartReader {
  /** Fills the start of `into` with the next bytes of the range; resolves with their count, 0 at the end. */
  read(into: Buffer): Promise<number>;
  close(): Promise<void>;
}

/**
 * Receives one data file. Write the encrypted bytes to `stream` (e.g. with stream.pipeline),
 * then `finish()`; hand the id to putObject/putPart, which take ownership of the data (on
 * success it is referenced, on failure it is removed). Call `abort()` when the request fails
 * before that; an abandoned writer is cleaned up by the next sweep at startup.
 */
export interface DataWriter {
  readonly id: string;
  readonly stream: Writable;
  /** Ends the stream if needed and makes the data durable; resolves with the byte count. */
  finish(): Promise<number>;
  /** Discards the data. Idempotent, and a no-op once the data is committed. */
  abort(): Promise<void>;
}

// ---------------------------------------------------------------- listing

export interface ListObjectsQuery {
  bucket: string;
  prefix?: string;
  /** Empty or absent: no roll-up. May be longer than one character. */
  delimiter?: string;
  /** ListObjectsV2 start-after, or ListObjects (V1) marker: entries after this one. */
  startAfter?: string;
  /** A nextToken of an earlier page; wins over startAfter. */
  continuationToken?: string;
  /** 0..1000 is what S3 allows; default 1000. Keys and common prefixes both count. */
  maxKeys?: number;
}

export interface ObjectSummary {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
}

export interface ListVersionsQuery {
  bucket: string;
  prefix?: string;
  delimiter?: string;
  /** Entries after this key, or (with versionIdMarker) after this version of it. */
  keyMarker?: string;
  versionIdMarker?: string;
  /** Default 1000. Versions, delete markers and common prefixes all count. */
  maxKeys?: number;
}

/** An object summary with its version; size 0 and etag '' for a delete marker. */
export interface VersionSummary extends ObjectSummary {
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
}

export interface ListVersionsPage {
  /** In key order (UTF-8 bytes), newest version first within a key. */
  versions: VersionSummary[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  /** When the page ends with a version (not a common prefix): its id. */
  nextVersionIdMarker?: string;
}

export interface ListObjectsPage {
  contents: ObjectSummary[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Opaque continuation token (ListObjectsV2 NextContinuationToken), when truncated. */
  nextToken?: string;
  /** The last key or common prefix returned (ListObjects V1 NextMarker), when truncated. */
  nextMarker?: string;
}

// ---------------------------------------------------------------- multipart

/** S3 addresses an upload by bucket, key and id; a mismatch is NoSuchUpload. */
export interface UploadRef {
  bucket: string;
  key: string;
  uploadId: string;
}

export interface CreateUploadInput extends ObjectMetadata {
  bucket: string;
  key: string;
  sse: StoredSSE;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
}

export interface UploadRecord extends ObjectMetadata {
  bucket: string;
  key: string;
  /** Random and unguessable; sorts in order of initiation. */
  uploadId: string;
  initiated: Date;
  sse: StoredSSE;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
}

export interface PartInput {
  plainSize: number;
  encSize: number;
  etag: string;
  extra?: Record<string, unknown>;
}

export interface UploadedPart extends PartRecord {
  lastModified: Date;
}

export interface ListPartsQuery {
  /** Parts with a number greater than this; default 0. */
  partNumberMarker?: number;
  /** Default 1000. */
  maxParts?: number;
}

export interface ListPartsPage {
  parts: UploadedPart[];
  isTruncated: boolean;
  nextPartNumberMarker?: number;
}

export interface ListUploadsQuery {
  bucket: string;
  prefix?: string;
  delimiter?: string;
  keyMarker?: string;
  /** Only with keyMarker: uploads of that key with a greater id are included. */
  uploadIdMarker?: string;
  /** Default 1000. Uploads and common prefixes both count. */
  maxUploads?: number;
}

export interface UploadSummary {
  key: string;
  uploadId: string;
  initiated: Date;
}

export interface ListUploadsPage {
  uploads: UploadSummary[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

/** A part as listed in CompleteMultipartUpload. */
export interface CompletePart {
  number: number;
  /** When given, must match the uploaded part's ETag (quotes ignored), else InvalidPart. */
  etag?: string;
}

export interface CompleteUploadInput {
  /** The final ETag, computed above (md5 of the binary part ETags, "-N"). */
  etag: string;
  checksum?: ObjectChecksum;
  /** Defaults to the upload's SSE fields. */
  sse?: StoredSSE;
  precondition?: WritePrecondition;
}

// ---------------------------------------------------------------- maintenance

export interface SweepReport {
  tempFilesRemoved: number;
  orphanDataFilesRemoved: number;
  bytesReclaimed: number;
  /** Files in data/ whose names this store never creates; left alone. */
  unknownFiles: number;
  /** Why nothing was swept (another gateway sharing the stores held the sweep lease). */
  skipped?: string;
}

/** What in one bucket depends on one master key: SSE records that name it (their `kmsKey`). */
export interface KeyDependents {
  bucket: string;
  /** Objects (their latest version) whose object key is sealed under data keys of the master key. */
  objects: number;
  /** Every stored version under the master key: the latest ones and noncurrent ones (delete markers have no key). */
  versions: number;
  /** Unfinished multipart uploads under the master key. */
  uploads: number;
}

export interface StoreStats {
  buckets: number;
  objects: number;
  /** Plaintext bytes of all objects. */
  bytes: number;
  /** Encrypted bytes of all objects as stored. */
  storedBytes: number;
  uploads: number;
  uploadParts: number;
  uploadStoredBytes: number;
}

/** The objects (every stored version, delete markers aside) under one SSE mode, from maintained totals. */
export interface SseModeTotals {
  /** The stored record's mode: SSE-S3, SSE-KMS or SSE-C. */
  sse: string;
  objects: number;
  bytes: number;
  storedBytes: number;
}

// ---------------------------------------------------------------- the store

export interface ObjectStore {
  readonly backend: string;

  /** → BucketAlreadyExists */
  createBucket(name: string, options?: CreateBucketOptions): Promise<BucketInfo>;
  /** → NoSuchBucket, BucketNotEmpty. Pending multipart uploads are aborted with the bucket. */
  deleteBucket(name: string): Promise<void>;
  /** → NoSuchBucket */
  headBucket(name: string): Promise<BucketInfo>;
  /** Ordered by name. */
  listBuckets(): Promise<BucketInfo[]>;
  /** undefined when none is set. → NoSuchBucket */
  getBucketEncryption(name: string): Promise<BucketEncryption | undefined>;
  /** → NoSuchBucket */
  putBucketEncryption(name: string, config: BucketEncryption): Promise<void>;
  /** → NoSuchBucket */
  deleteBucketEncryption(name: string): Promise<void>;
  /** undefined when none is set. → NoSuchBucket */
  getBucketSetting<K extends BucketSettingName>(name: string, setting: K): Promise<BucketSettings[K] | undefined>;
  /** Replaces the setting; undefined removes it. → NoSuchBucket */
  putBucketSetting<K extends BucketSettingName>(name: string, setting: K, value: BucketSettings[K] | undefined): Promise<void>;

  /** → NoSuchBucket (checked before any byte is written) */
  createDataWriter(bucket: string): Promise<DataWriter>;
  /**
   * The bucket's versioning state. → NoSuchBucket
   */
  getBucketVersioning(name: string): Promise<BucketVersioning>;
  /** Enabled or Suspended (a bucket never goes back to Unversioned). → NoSuchBucket */
  putBucketVersioning(name: string, state: 'Enabled' | 'Suspended'): Promise<void>;

  /**
   * Commits an object as the key's latest version: a new version when the bucket's versioning is Enabled,
   * else the "null" version, replacing an earlier null version (whose data is removed after the commit).
   * → NoSuchBucket, PreconditionFailed, KeyTooLong, InvalidArgument
   */
  putObject(input: PutObjectInput): Promise<ObjectRecord>;
  /** The latest version when it is an object; undefined when there is no such key or its latest is a delete marker. → NoSuchBucket */
  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined>;
  /**
   * One version (the latest when `versionId` is undefined), object or delete marker. → NoSuchBucket,
   * InvalidArgument (a version id this store never issues)
   */
  getVersion(bucket: string, key: string, versionId?: string): Promise<VersionLookup>;
  /**
   * The encrypted bytes [start, endExclusive) of one part's data file. The file is opened before
   * this resolves, so the stream keeps reading the version it opened even if the object is
   * overwritten or deleted meanwhile. → DataUnavailable
   */
  openPartRange(part: PartData, start: number, endExclusive: number): Promise<Readable>;
  /** The same range as a pull reader into the caller's buffer (the GET path: no allocation per read). → DataUnavailable */
  openPartReader(part: PartData, start: number, endExclusive: number): Promise<PartReader>;
  /** true if an object was deleted (or a delete marker written). → NoSuchBucket */
  deleteObject(bucket: string, key: string, versionId?: string): Promise<DeleteResult>;
  /**
   * One transaction for all targets. A target without a version id deletes the key as the bucket's
   * versioning says (Unversioned: removes it; Enabled: writes a delete marker; Suspended: replaces the null
   * version with a delete marker); with one, removes that version for good (its data is reclaimed).
   * → NoSuchBucket, InvalidArgument
   */
  deleteObjects(bucket: string, targets: readonly (string | DeleteTarget)[]): Promise<DeleteResult[]>;
  /**
   * Replaces the SSE fields only (key rotation) of one version (the latest when `versionId` is undefined),
   * if it still has `expectRevision`. → NoSuchKey, NoSuchVersion, PreconditionFailed (it changed since it was read)
   */
  updateObjectSSE(bucket: string, key: string, expectRevision: string, sse: StoredSSE, versionId?: string): Promise<ObjectRecord>;
  /**
   * Replaces the tag set of one version (the latest when `versionId` is undefined; an empty array removes it).
   * Tags are not part of the object's data: the ETag, Last-Modified and revision stay. → NoSuchBucket, NoSuchKey, NoSuchVersion
   */
  putObjectTags(bucket: string, key: string, tags: Tag[], versionId?: string): Promise<ObjectRecord>;
  /** S3 listing semantics; latest versions only, delete markers left out. → NoSuchBucket, InvalidArgument (a bad continuation token) */
  listObjects(query: ListObjectsQuery): Promise<ListObjectsPage>;
  /** Every version and delete marker, in S3's order (key, then newest first). → NoSuchBucket, InvalidArgument */
  listVersions(query: ListVersionsQuery): Promise<ListVersionsPage>;

  /** → NoSuchBucket */
  createUpload(input: CreateUploadInput): Promise<UploadRecord>;
  /** → NoSuchBucket, NoSuchUpload */
  getUpload(ref: UploadRef): Promise<UploadRecord>;
  /**
   * Stores a part, replacing an earlier upload of the same number (whose data is removed after
   * the commit). → NoSuchBucket, NoSuchUpload, InvalidArgument (part number outside 1..10000)
   */
  putPart(ref: UploadRef, number: number, dataId: string, part: PartInput): Promise<UploadedPart>;
  /** → NoSuchBucket, NoSuchUpload */
  listParts(ref: UploadRef, query?: ListPartsQuery): Promise<ListPartsPage>;
  /** Ordered by key, then initiation. → NoSuchBucket */
  listUploads(query: ListUploadsQuery): Promise<ListUploadsPage>;
  /**
   * Atomically turns the chosen parts into the object, replacing any previous version, and ends
   * the upload; the data of parts not chosen and of the previous version is removed after commit.
   * Checks here: every chosen part was uploaded and its ETag matches → InvalidPart; ascending
   * order → InvalidPartOrder. Checked above (needs the request): part sizes (EntityTooSmall).
   * → NoSuchBucket, NoSuchUpload, InvalidPart, InvalidPartOrder, PreconditionFailed
   */
  completeUpload(ref: UploadRef, parts: readonly CompletePart[], input: CompleteUploadInput): Promise<ObjectRecord>;
  /** Removes the upload and all its part data. → NoSuchBucket, NoSuchUpload */
  abortUpload(ref: UploadRef): Promise<void>;
  /**
   * Replaces an unfinished upload's SSE fields only (key rotation), if they are still `expect` (the fields
   * read before re-wrapping). → NoSuchUpload, PreconditionFailed (the fields changed since they were read)
   */
  updateUploadSSE(ref: UploadRef, expect: StoredSSE, sse: StoredSSE): Promise<void>;

  /** Removes temp files and data files no object or upload references. Runs at open. */
  sweep(): Promise<SweepReport>;
  stats(): Promise<StoreStats>;
  /** Per SSE mode with any objects, in mode order: counts from maintained totals, never a scan. */
  sseTotals(): Promise<SseModeTotals[]>;
  /**
   * Per bucket (only buckets with any), what depends on `masterKey`: a scan of every SSE record, for
   * an operator about to delete or seal a key, never for a request path.
   */
  keyDependents(masterKey: string): Promise<KeyDependents[]>;
  close(): Promise<void>;
}
