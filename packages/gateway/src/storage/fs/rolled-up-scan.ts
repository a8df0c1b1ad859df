// S3 listing over an ordered row source: walks rows from a position, rolls keys up into common
// prefixes and, after each common prefix, seeks past every key under it — so a page costs
// O(entries returned) index seeks, never a scan of the keys inside rolled-up prefixes.
import { commonPrefixOf, compareKeys, keyAfter, prefixUpperBound } from '../key-order.js';

/**
 * A position in (key, id) order: rows with `key` equal to this key and id > `afterId`, then all
 * rows with a greater key. `afterId` '' takes every row of the key (ids are never empty).
 */
export interface ScanPosition {
  key: string;
  afterId: string;
}

export type ScanEntry<Row> = { row: Row } | { prefix: string };

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
  /** Rows from `from` (inclusive per ScanPosition) with key < `upper`, in order. */
  rowsFrom(from: ScanPosition, upper: string | undefined, limit: number): IterableIterator<Row>;
  /** The position right after a returned row. */
  positionAfter(row: Row): ScanPosition;
}

/**
 * Where a listing starts: at the prefix, or after the marker if that is later. A marker that
 * itself rolls up into a common prefix means that whole prefix was already returned.
 */
export function startPosition(
  prefix: string,
  delimiter: string,
  marker: string | undefined,
  afterId = '',
): ScanPosition | undefined {
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

export function scanRolledUp<Row extends { key: string }>(
  options: RolledUpScanOptions<Row>,
): RolledUpPage<Row> {
  const { prefix, delimiter, maxEntries } = options;
  const upper = prefix === '' ? undefined : prefixUpperBound(prefix);
  const page: RolledUpPage<Row> = { rows: [], commonPrefixes: [], truncated: false };
  let position = options.start;
  let count = 0;

  while (position !== undefined && count < maxEntries) {
    let next: ScanPosition | undefined;
    let sawRow = false;
    // Iterate lazily and stop at the first common prefix: the rows after it are under that
    // prefix and are skipped by seeking, not read.
    for (const row of options.rowsFrom(position, upper, maxEntries - count)) {
      sawRow = true;
      const rolledUp = commonPrefixOf(row.key, prefix, delimiter);
      if (rolledUp !== undefined) {
        page.commonPrefixes.push(rolledUp);
        page.last = { prefix: rolledUp };
        count++;
        const past = prefixUpperBound(rolledUp);
        next = past === undefined ? undefined : { key: past, afterId: '' };
        break;
      }
      page.rows.push(row);
      page.last = { row };
      count++;
      next = options.positionAfter(row);
      if (count === maxEntries) break;
    }
    if (!sawRow) next = undefined;
    position = next;
  }

  if (position !== undefined && count > 0) {
    const more = options.rowsFrom(position, upper, 1);
    page.truncated = more.next().done !== true;
    more.return?.();
  }
  return page;
}
