// S3 listing over an ordered row source: walks rows from a position, rolls keys up into common
// prefixes and, after each common prefix, seeks past every key under it — so a page costs
// O(entries returned) index seeks, never a scan of the keys inside rolled-up prefixes.
//
// The source answers in batches (one query, or one round trip to a database server, each). Without a
// delimiter every row is an entry, so one batch of the page's size (plus one row, which tells whether the
// listing is truncated) does. With a delimiter a batch may end early at a common prefix, and the rows after
// it in the batch were read for nothing; so batches start small after each common prefix and grow while
// rows keep coming without one.
import { commonPrefixOf, compareKeys, keyAfter, prefixUpperBound } from './key-order.js';

/**
 * A position in (key, id) order: rows with `key` equal to this key and id > `afterId`, then all
 * rows with a greater key. `afterId` '' takes every row of the key (ids are never empty).
 */
export interface ScanPosition {
  key: string;
  afterId: string;
}

type ScanEntry<Row> = { row: Row } | { prefix: string };

export interface RolledUpPage<Row> {
  rows: Row[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last entry returned, for next markers. */
  last?: ScanEntry<Row>;
}

export interface RolledUpScanOptions<Row extends { key: string }> {
  prefix: string;
  delimiter: string;
  maxEntries: number;
  /** undefined: nothing can follow the marker. */
  start: ScanPosition | undefined;
  /** Up to `limit` rows from `from` (inclusive per ScanPosition) with key < `upper`, in order. */
  rowsFrom(from: ScanPosition, upper: string | undefined, limit: number): Promise<Row[]>;
  /** The position right after a returned row. */
  positionAfter(row: Row): ScanPosition;
}

/**
 * Where a listing starts: at the prefix, or after the marker if that is later. A marker that
 * itself rolls up into a common prefix means that whole prefix was already returned.
 */
export function startPosition(prefix: string, delimiter: string, marker: string | undefined, afterId = ''): ScanPosition | undefined {
  const atPrefix: ScanPosition = { key: prefix, afterId: '' };
  if (marker === undefined) return atPrefix;
  let resume: ScanPosition;
  const rolledUp = commonPrefixOf(marker, prefix, delimiter);
  if (rolledUp !== undefined) {
    const past = prefixUpperBound(rolledUp);
    if (past === undefined) return undefined;
    resume = { key: past, afterId: '' };
  } else if (afterId !== '') {
    resume = { key: marker, afterId };
  } else {
    resume = { key: keyAfter(marker), afterId: '' };
  }
  return compareKeys(resume.key, atPrefix.key) >= 0 ? resume : atPrefix;
}

/** Rows asked for after a common prefix: the next key is often under another one. */
const BATCH_AFTER_PREFIX = 8;
/** Rows asked for first when keys may roll up. */
const FIRST_BATCH = 64;

export async function scanRolledUp<Row extends { key: string }>(options: RolledUpScanOptions<Row>): Promise<RolledUpPage<Row>> {
  const { prefix, delimiter, maxEntries } = options;
  const upper = prefix === '' ? undefined : prefixUpperBound(prefix);
  const page: RolledUpPage<Row> = { rows: [], commonPrefixes: [], truncated: false };
  let position = options.start;
  let count = 0;
  let batch = FIRST_BATCH;

  while (position !== undefined && count < maxEntries) {
    // One row more than the page still takes: if it comes, the listing is truncated.
    const wanted = maxEntries - count + 1;
    const limit = delimiter === '' ? wanted : Math.min(wanted, batch);
    const rows = await options.rowsFrom(position, upper, limit);
    let next: ScanPosition | undefined;
    let rolledUp = false;
    let used = 0;
    for (const row of rows) {
      if (count === maxEntries) break;
      used++;
      const commonPrefix = commonPrefixOf(row.key, prefix, delimiter);
      if (commonPrefix !== undefined) {
        page.commonPrefixes.push(commonPrefix);
        page.last = { prefix: commonPrefix };
        count++;
        // The rows after it in this batch are under the prefix: seek past them instead.
        const past = prefixUpperBound(commonPrefix);
        next = past === undefined ? undefined : { key: past, afterId: '' };
        rolledUp = true;
        break;
      }
      page.rows.push(row);
      page.last = { row };
      count++;
      next = options.positionAfter(row);
    }
    if (rolledUp) {
      position = next;
      batch = BATCH_AFTER_PREFIX;
    } else if (used < rows.length) {
      // The page is full and a row follows its last entry (a key, so not under a returned prefix).
      page.truncated = true;
      return page;
    } else if (rows.length < limit) {
      position = undefined; // the range holds no more rows
    } else {
      position = next;
      batch *= 2;
    }
  }

  if (position !== undefined && count > 0) {
    page.truncated = (await options.rowsFrom(position, upper, 1)).length > 0;
  }
  return page;
}
