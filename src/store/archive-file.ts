import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';

/**
 * One retention archive being written, streamed: lines go through gzip into `<file>.partial`;
 * `commit()` flushes, fsyncs the file, renames it into place and fsyncs the folder, so once it
 * resolves the archive survives a crash; only then may its rows be removed from the database.
 * Memory holds gzip's window and one write, whatever the archive's size.
 */
export class ArchiveFile {
  private constructor(
    readonly file: string,
    private readonly gzip: Gzip,
    private readonly written: Promise<void>,
  ) {}

  static async create(file: string): Promise<ArchiveFile> {
    const out = createWriteStream(`${file}.partial`);
    await once(out, 'open');
    const gzip = createGzip();
    const written = pipeline(gzip, out);
    // A write error surfaces in commit(); keep it from being an unhandled rejection meanwhile.
    written.catch(() => undefined);
    return new ArchiveFile(file, gzip, written);
  }

  /** Appends one JSON line; waits while gzip's buffer is full. */
  async line(value: unknown): Promise<void> {
    if (!this.gzip.write(`${JSON.stringify(value)}\n`)) await once(this.gzip, 'drain');
  }

  async commit(): Promise<void> {
    this.gzip.end();
    await this.written;
    // fsync is per file, not per descriptor: the stream has closed its own.
    await syncPath(`${this.file}.partial`, 'r+');
    await rename(`${this.file}.partial`, this.file);
    await syncPath(dirname(this.file), 'r');
  }

  /** Gives up: the partial file is removed (its rows are still in the database). */
  async abandon(): Promise<void> {
    this.gzip.destroy();
    await this.written.catch(() => undefined);
    await unlink(`${this.file}.partial`).catch(() => undefined);
  }
}

async function syncPath(path: string, flags: string): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
