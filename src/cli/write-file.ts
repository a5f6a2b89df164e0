import { rename, rm, writeFile } from 'node:fs/promises';

/** A file a command could not write: names the path the user gave, never the temporary one. */
export class OutputFileError extends Error {
  override readonly name = 'OutputFileError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot write ${path}: ${reason}`);
  }
}

function reasonOf(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return 'its directory does not exist';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'EISDIR': return 'is a directory';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'ENOSPC': return 'no space left on the device';
    case 'EROFS': return 'read-only file system';
    default: return err.message;
  }
}

/**
 * Writes `text` beside `path` and renames it into place, so a reader never sees half a
 * file. A failure names `path` and why; the temporary file is removed.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const partial = `${path}.${process.pid}.partial`;
  try {
    await writeFile(partial, text);
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true }).catch(() => undefined);
    throw new OutputFileError(path, reasonOf(err as NodeJS.ErrnoException));
  }
}
