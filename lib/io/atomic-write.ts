/**
 * The one atomic writer of the library, and the sweeping of what killed writers leave behind.
 *
 * A file is written to a temporary name beside its target, fsynced, renamed over the target,
 * and the folder is fsynced, so a crash or a kill at any moment leaves the previous file whole.
 * What a kill can leave is the temporary file itself. Its name carries the writer's process
 * id, `.<target>.<pid>.<12 hex digits>.tmp`, so that the next save into the same folder, by
 * any process, removes the temporaries of processes that no longer run (and of processes that
 * ran before the machine last booted) and never touches one a running process is writing.
 * Checkpoint folders use the same names for their step folders while those are being written.
 * (Internal to the package.)
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** `.<base>.<pid>.<12 hex>.tmp`, the base itself possibly holding dots. */
const TEMP_NAME = /^\.(.+)\.([1-9][0-9]{0,9})\.([0-9a-f]{12})\.tmp$/;

/** Longest base (in UTF-8 bytes) kept in a temporary name: 200 + 30 stays under NAME_MAX (255). */
const MAX_BASE_BYTES = 200;

/** `base` cut to at most MAX_BASE_BYTES of UTF-8, at a code point boundary. */
function shortBase(base: string): string {
  if (Buffer.byteLength(base, 'utf8') <= MAX_BASE_BYTES) return base;
  let out = '';
  let bytes = 0;
  for (const ch of base) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > MAX_BASE_BYTES) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** A fresh temporary name for `base`, owned by this process. */
export function temporaryName(base: string): string {
  return `.${shortBase(base)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/** The base and the writer's pid of a temporary name, or null when `name` is not one. */
export function parseTemporaryName(name: string): { base: string; pid: number } | null {
  const m = TEMP_NAME.exec(name);
  return m ? { base: m[1], pid: Number(m[2]) } : null;
}

/** Whether a process with this id runs now (EPERM: it runs, under another user). */
export function processIsAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When the machine booted, in ms since the epoch, with a minute's margin for clock noise. */
function bootTime(): number {
  return Date.now() - os.uptime() * 1000 - 60_000;
}

/**
 * Whether a leftover of process `pid` last modified at `mtimeMs` can be removed: its writer no
 * longer runs, or it was written before this boot (the pid may since have been reused).
 */
export function isStale(pid: number, mtimeMs: number): boolean {
  if (pid === process.pid) return false; // another thread of this process may be writing it
  return !processIsAlive(pid) || mtimeMs < bootTime();
}

/**
 * Removes the stale temporary files (see {@link isStale}) in `dir`, and, when `folders` says
 * so, the stale temporary folders whose base it accepts. Never follows a symbolic link;
 * never throws (a folder that cannot be read is left alone). Returns the names removed.
 */
export function sweepStaleTemporaries(dir: string, folders?: (base: string) => boolean): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const t = parseTemporaryName(name);
    if (!t) continue;
    const full = path.join(dir, name);
    try {
      const st = fs.lstatSync(full);
      if (!isStale(t.pid, st.mtimeMs)) continue;
      if (st.isFile()) fs.unlinkSync(full);
      else if (st.isDirectory() && folders?.(t.base)) fs.rmSync(full, { recursive: true, force: true });
      else continue;
      removed.push(name);
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}

/** fsync of a folder, making renames and creations in it durable. Best effort: some systems refuse it. */
export function syncFolder(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* best effort */
  } finally {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch {
        /* best effort */
      }
    }
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  const CHUNK = 1 << 30;
  let done = 0;
  while (done < bytes.byteLength) {
    const n = fs.writeSync(fd, bytes, done, Math.min(CHUNK, bytes.byteLength - done));
    if (!(n > 0)) throw new Error(`write made no progress (${done} of ${bytes.byteLength} bytes)`);
    done += n;
  }
}

/** The nearest ancestor of `dir` (itself included) that does not exist, or null. */
function missingFolder(dir: string): string | null {
  let missing: string | null = null;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(d)) return missing;
    missing = d;
    if (path.dirname(d) === d) return missing;
  }
}

/**
 * An fs error while writing `target`, restated in terms of the caller's path (never our
 * temporary's): `${ctx}: cannot write "<target>": <why> (<code>)`. Keeps `code`, `errno` and
 * `syscall`, and sets `path` to the target.
 */
export function writeError(ctx: string, target: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  // fs errors may come from another realm (vm contexts, jest): no instanceof here
  if (err === null || typeof err !== 'object' || typeof e.message !== 'string') return err as Error;
  if (typeof e.code !== 'string') return new Error(`${ctx}: cannot write ${JSON.stringify(target)}: ${e.message}`);
  const dir = path.dirname(path.resolve(target));
  let why: string;
  switch (e.code) {
    case 'ENOENT': {
      const missing = missingFolder(dir);
      why = missing ? `the folder ${JSON.stringify(missing)} does not exist` : 'a folder on the path vanished while writing';
      break;
    }
    case 'ENOTDIR':
      why = 'a part of the path that should be a folder is a file';
      break;
    case 'EISDIR':
      why = 'it is a folder';
      break;
    case 'EACCES':
    case 'EPERM':
      why = `permission denied in ${JSON.stringify(dir)}`;
      break;
    case 'EROFS':
      why = 'the file system is read-only';
      break;
    case 'ENOSPC':
    case 'EDQUOT':
      why = 'no space left on the device (the previous file, if any, is unchanged)';
      break;
    case 'ENAMETOOLONG':
      why = 'the name is too long';
      break;
    default:
      why = `${e.syscall ?? 'the write'} failed`;
  }
  const out = new Error(`${ctx}: cannot write ${JSON.stringify(target)}: ${why} (${e.code})`) as NodeJS.ErrnoException;
  out.code = e.code;
  if (e.errno !== undefined) out.errno = e.errno;
  if (e.syscall !== undefined) out.syscall = e.syscall;
  out.path = target;
  return out;
}

/**
 * Writes `chunks` to a new file `file` (which must not exist) and fsyncs it. No rename: for
 * files inside a folder that is itself renamed into place when complete.
 */
export function writeFileSynced(file: string, chunks: Uint8Array[]): void {
  const fd = fs.openSync(file, 'wx', 0o666);
  try {
    for (const chunk of chunks) writeAll(fd, chunk);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `target` with `chunks`, atomically and durably: stale temporaries of dead writers
 * in the folder are swept first, then the bytes go to a temporary file of this process beside
 * the target, which is fsynced, renamed over the target, and the folder fsynced. On failure
 * the temporary is removed, the target is untouched, and the error names `target` (see
 * {@link writeError}).
 */
export function writeFileAtomic(ctx: string, target: string, chunks: Uint8Array[]): void {
  const dir = path.dirname(path.resolve(target));
  sweepStaleTemporaries(dir);
  const tmp = path.join(dir, temporaryName(path.basename(target)));
  let fd = -1;
  let created = false;
  try {
    fd = fs.openSync(tmp, 'wx', 0o666);
    created = true;
    for (const chunk of chunks) writeAll(fd, chunk);
    fs.fsyncSync(fd);
    const closing = fd;
    fd = -1;
    fs.closeSync(closing);
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    if (created) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        /* best effort */
      }
    }
    throw writeError(ctx, target, err);
  }
  syncFolder(dir);
}
