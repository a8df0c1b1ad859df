// The fs blob store's directory layout:
//   <root>/data/<xx>/<id>     one blob per file, sharded by the first two hex chars of the id
//   <root>/tmp/<id>           a blob being written; renamed into data/ once complete and fsynced
// (The embedded layout keeps its SQLite metadata, meta.db, in the same root.) File names are random
// ids, never derived from user keys, so no key can reach a path.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirSync } from '../../fsync-dir.js';

const SHARD = /^[0-9a-f]{2}$/;
const DIR_MODE = 0o700;

export function isShardName(value: string): boolean {
  return SHARD.test(value);
}

export class BlobLayout {
  readonly dataDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.dataDir = join(root, 'data');
    this.tmpDir = join(root, 'tmp');
  }

  shardDir(id: string): string {
    return join(this.dataDir, id.slice(0, 2));
  }

  dataPath(id: string): string {
    return join(this.dataDir, id.slice(0, 2), id);
  }

  tmpPath(id: string): string {
    return join(this.tmpDir, id);
  }

  /**
   * Creates the directories, all 256 shards included, and makes their entries durable up front,
   * so committing a blob never waits on a mkdir.
   */
  create(): void {
    mkdirSync(this.root, { recursive: true, mode: DIR_MODE });
    mkdirSync(this.tmpDir, { recursive: true, mode: DIR_MODE });
    mkdirSync(this.dataDir, { recursive: true, mode: DIR_MODE });
    for (let i = 0; i < 256; i++) {
      mkdirSync(join(this.dataDir, i.toString(16).padStart(2, '0')), { recursive: true, mode: DIR_MODE });
    }
    for (const dir of [this.dataDir, this.tmpDir, this.root]) fsyncDirSync(dir);
  }
}
