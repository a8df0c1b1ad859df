// The metadata store contract: buckets, object records, multipart uploads and their parts, in a database
// (SQLite embedded, PostgreSQL for several gateways). Every method is one transaction.
//
// The S3 rules (preconditions, which parts a Complete may choose, revisions, upload ids) are not written
// here but in the object store above, once: where a rule needs the current state, the method reads it
// inside its transaction and hands it to a synchronous callback of the object store, which throws to
// refuse (nothing is written then) or returns what to write. Implementations must call each callback
// exactly once per successful transaction; a transaction retried after a serialisation failure calls it
// again with the fresh state.
import type {
  BucketEncryption,
  BucketInfo,
  BucketVersioning,
  ObjectVersion,
  BucketSettingName,
  BucketSettings,
  KeyDependents,
  ObjectRecord,
  ObjectSummary,
  StoredSSE,
  SseModeTotals,
  StoreStats,
  Tag,
  UploadedPart,
  UploadRecord,
  UploadRef,
  VersionSummary,
  UploadSummary,
} from '../types.js';

/** What updateObject may change; the rest of the record stays. */
export interface ObjectPatch {
  revision?: string;
  sse?: StoredSSE;
  /** [] removes the tag set. */
  tags?: Tag[];
}

/**
 * The key's latest version when it is an object (undefined when there is none or it is a delete marker), read
 * only when called: a write without a precondition never reads the record it replaces, so an object whose
 * stored record is malformed can still be overwritten (a conditional write gets the MalformedSSERecord).
 */
export type ExistingObject = () => ObjectRecord | undefined;

/**
 * What an object write stores: `check` (the S3 rules, above) gets the key's latest version (`existing`) and
 * the bucket's versioning, and returns the version id to store the object under (nothing: object.versionId).
 * A version of that id already stored is replaced.
 */
export type PutCheck = (existing: ExistingObject, versioning: BucketVersioning) => string | void;

/**
 * One step of a delete: remove version `versionId` of `key` if it is stored (object or delete marker);
 * then, with `marker`, store a delete marker of that id as the key's latest version.
 */
export interface DeleteOp {
  key: string;
  versionId: string;
  marker?: { lastModified: Date };
}

export interface DeleteOutcome {
  key: string;
  versionId: string;
  /** What was removed: nothing, an object version or a delete marker. */
  removed: 'none' | 'object' | 'marker';
  markerAdded: boolean;
}

/** A version as listed: the summary and its place in the key's history (greater is newer). */
export interface ListedVersion extends VersionSummary {
  /** Orders a key's versions: a greater one is newer. Opaque, stable while the version exists. */
  seq: number;
}

/** Where a version listing resumes: versions of `key` older than `beforeSeq` (all when undefined), then greater keys. */
export interface VersionPosition {
  key: string;
  beforeSeq?: number;
}

/** A position in (key, upload id) order, as listing uploads resumes from it. */
export interface UploadPosition {
  key: string;
  /** Uploads of `key` with a greater id, then every greater key; '' takes every upload of `key`. */
  afterId: string;
}

/** Blob ids no longer referenced once a transaction committed: the object store reclaims them. */
export type Superseded = string[];

/** A running gateway, as the gateways sharing a metadata store see each other. */
export interface GatewayInstance {
  /** Fresh at every start. */
  id: string;
  /** Where it serves S3, e.g. http://10.0.0.5:9000 (never a credential). */
  address: string;
  startedAt: Date;
}

export interface GatewayPresence extends GatewayInstance {
  /** Its latest heartbeat, by the store's clock. */
  lastSeen: Date;
}

export interface MetadataStore {
  /** 'sqlite' or 'postgres', for status pages and logs (never a URL or a password). */
  readonly kind: string;
  /** The schema version the database is at. */
  schemaVersion(): Promise<number>;

  // ------------------------------------------------------------------ buckets
  /** → BucketAlreadyExists */
  createBucket(name: string, createdAt: Date, encryption: BucketEncryption | undefined): Promise<BucketInfo>;
  /** Removes an empty bucket, its settings and its unfinished uploads. → NoSuchBucket, BucketNotEmpty */
  deleteBucket(name: string): Promise<Superseded>;
  /** → NoSuchBucket */
  getBucket(name: string): Promise<BucketInfo & { encryption?: BucketEncryption }>;
  /** Ordered by name (bytewise). */
  listBuckets(): Promise<BucketInfo[]>;
  /** → NoSuchBucket */
  getBucketVersioning(name: string): Promise<BucketVersioning>;
  /** → NoSuchBucket */
  setBucketVersioning(name: string, state: 'Enabled' | 'Suspended'): Promise<void>;
  /** undefined removes it. → NoSuchBucket */
  setBucketEncryption(name: string, encryption: BucketEncryption | undefined): Promise<void>;
  /** → NoSuchBucket */
  getBucketSetting<K extends BucketSettingName>(name: string, setting: K): Promise<BucketSettings[K] | undefined>;
  /** undefined removes it. → NoSuchBucket */
  putBucketSetting<K extends BucketSettingName>(name: string, setting: K, value: BucketSettings[K] | undefined): Promise<void>;

  // ------------------------------------------------------------------ objects
  // A key has versions (objects and delete markers); one of them is its latest, the newest written. Versions
  // are kept in one table whatever the bucket's versioning: an unversioned bucket's objects are "null" versions.

  /** The latest version when it is an object; undefined when there is none or it is a delete marker. → NoSuchBucket */
  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined>;
  /**
   * Version `versionId` of the key (its latest when undefined), and whether it is the latest, with the
   * bucket's versioning state. → NoSuchBucket
   */
  getVersion(
    bucket: string,
    key: string,
    versionId: string | undefined,
  ): Promise<{ version: ObjectVersion | undefined; isLatest: boolean; versioning: BucketVersioning }>;
  /**
   * Reads the latest version of (object.bucket, object.key), calls `check`, and stores `object` under the
   * version id it returns as the key's latest version (stored as given: revision, lastModified and all),
   * replacing a stored version of that id. Returns the replaced version's blobs. → NoSuchBucket, whatever
   * `check` throws
   */
  putObject(object: ObjectRecord, check: PutCheck): Promise<Superseded>;
  /**
   * Calls `plan` with the bucket's versioning and applies its steps in order, in one transaction. When a
   * key's latest version is removed, its newest remaining version becomes the latest. → NoSuchBucket
   */
  deleteObjects(
    bucket: string,
    plan: (versioning: BucketVersioning) => DeleteOp[],
  ): Promise<{ results: DeleteOutcome[]; superseded: Superseded }>;
  /**
   * Reads the object version (the latest when `versionId` is undefined; delete markers are not objects),
   * calls `update` with it, writes the fields it returns. → NoSuchBucket, NoSuchKey, NoSuchVersion,
   * whatever `update` throws
   */
  updateObject(bucket: string, key: string, update: (existing: ObjectRecord) => ObjectPatch, versionId?: string): Promise<ObjectRecord>;
  /**
   * Up to `limit` latest object versions (no delete markers) with fromKey <= key < upper (no upper bound
   * when undefined), in bytewise key order. The listing above rolls them up into common prefixes and seeks.
   * → NoSuchBucket
   */
  listObjects(bucket: string, fromKey: string, upper: string | undefined, limit: number): Promise<ObjectSummary[]>;
  /**
   * Up to `limit` versions from `from` with key < upper, in (key ascending, newest first) order, delete
   * markers included. → NoSuchBucket
   */
  listVersions(bucket: string, from: VersionPosition, upper: string | undefined, limit: number): Promise<ListedVersion[]>;
  /** The seq of a stored version, to resume a listing after it; undefined when it is not stored. → NoSuchBucket */
  versionSeq(bucket: string, key: string, versionId: string): Promise<number | undefined>;

  // ------------------------------------------------------------------ multipart uploads
  /** Stores a new upload (its id chosen above). → NoSuchBucket */
  createUpload(upload: UploadRecord): Promise<void>;
  /** → NoSuchBucket, NoSuchUpload */
  getUpload(ref: UploadRef): Promise<UploadRecord>;
  /** Stores a part, replacing an earlier one of the same number. Returns the replaced part's blob. → NoSuchBucket, NoSuchUpload */
  putPart(ref: UploadRef, part: UploadedPart): Promise<Superseded>;
  /** Up to `limit` parts with a number greater than `afterNumber`, ascending. → NoSuchBucket, NoSuchUpload */
  listParts(ref: UploadRef, afterNumber: number, limit: number): Promise<UploadedPart[]>;
  /** Up to `limit` uploads from `from` with key < upper, in (key, upload id) order. → NoSuchBucket */
  listUploads(bucket: string, from: UploadPosition, upper: string | undefined, limit: number): Promise<UploadSummary[]>;
  /**
   * Reads the upload, all its parts, the latest object version of its key and the bucket's versioning, calls
   * `build` (which applies S3's rules and returns the object to store, its version id chosen), stores that
   * object as the key's latest version (replacing a stored version of the same id) and ends the upload. Returns the replaced version's blobs and those of the parts `build` did not use.
   * → NoSuchBucket, NoSuchUpload, whatever `build` throws
   */
  completeUpload(
    ref: UploadRef,
    build: (upload: UploadRecord, parts: UploadedPart[], existing: ExistingObject, versioning: BucketVersioning) => ObjectRecord,
  ): Promise<Superseded>;
  /** Ends the upload. Returns its parts' blobs. → NoSuchBucket, NoSuchUpload */
  abortUpload(ref: UploadRef): Promise<Superseded>;
  /** Reads the upload, calls `update`, stores the SSE fields it returns. → NoSuchBucket, NoSuchUpload */
  updateUpload(ref: UploadRef, update: (upload: UploadRecord) => { sse: StoredSSE }): Promise<void>;

  // ------------------------------------------------------------------ gateways sharing the store
  // Leases let one gateway at a time do a thing (run a rotation job, sweep); a holder that stops renewing
  // loses the lease when it expires. Expiry is measured by the store's clock (the database's when shared),
  // never by a gateway's. The embedded SQLite store is held by one process, so it keeps these in memory.

  /**
   * Takes the lease `name` for `holder` for `ttlMs` from now, or extends it when `holder` holds it already.
   * True when `holder` holds it now; false while another holder's lease has not expired.
   */
  tryLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it; otherwise does nothing. */
  releaseLease(name: string, holder: string): Promise<void>;
  /** The holder of an unexpired lease, or undefined. */
  leaseHolder(name: string): Promise<string | undefined>;
  /** Records that `instance` is alive now (creating or refreshing its row). */
  heartbeat(instance: GatewayInstance): Promise<void>;
  /** The gateways whose latest heartbeat is at most `withinMs` old, oldest start first. */
  gateways(withinMs: number): Promise<GatewayPresence[]>;
  /** Removes a gateway's row (it stops cleanly). */
  removeGateway(id: string): Promise<void>;

  // ------------------------------------------------------------------ maintenance
  /** Which of `ids` an object part or an upload part references. */
  referencedBlobs(ids: readonly string[]): Promise<Set<string>>;
  /** Counts from maintained totals, never a scan of every object. */
  stats(): Promise<StoreStats>;
  /** Per SSE mode with any objects (the record's `sse` field), in mode order: from maintained totals too. */
  sseTotals(): Promise<SseModeTotals[]>;
  /**
   * Per bucket, the objects and unfinished uploads whose SSE record's `kmsKey` is `masterKey`, in bucket
   * order, only buckets with any. The one place storage reads inside the otherwise opaque SSE record.
   */
  keyDependents(masterKey: string): Promise<KeyDependents[]>;
  close(): Promise<void>;
}
