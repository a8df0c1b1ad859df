/**
 * The owner every response names (ListBuckets, object listings, multipart uploads): the gateway has one
 * account, so every bucket and object belongs to it. One constant, so that a client comparing owners
 * across operations (as some sync tools do) sees the same one everywhere.
 */
export const OWNER = { ID: 'kesgate', DisplayName: 'kesgate' } as const;
