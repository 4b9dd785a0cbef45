/**
 * The files the commands read and write, checked up front so that a mistake in a path is a
 * one-line message before any work starts (not a stack trace after an hour of training). (Internal to the package.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError } from './args';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
};

/** `cannot <verb> FILE: <reason>` for a failed file-system call. */
export function fileError(verb: string, file: string, err: unknown): CliError {
  const code = (err as { code?: string }).code;
  const reason = (code && REASONS[code]) ?? (err instanceof Error ? err.message : String(err));
  return new CliError(`cannot ${verb} ${file}: ${reason}`);
}

/** A regular file that exists and can be opened for reading; a CliError otherwise. */
export function checkReadable(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    throw fileError('read', file, err);
  }
  if (stat.isDirectory()) throw new CliError(`cannot read ${file}: it is a directory, not a file`);
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (err) {
    throw fileError('read', file, err);
  }
}

/** The text of a file, as UTF-8. */
export function readText(file: string): string {
  checkReadable(file);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw fileError('read', file, err);
  }
}

/** `file` can be created or replaced: its directory exists and it is not itself a directory. */
export function checkWritable(option: string, file: string): void {
  const dir = path.dirname(path.resolve(file));
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(file);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) throw new CliError(`cannot write ${option} ${file}: it is a directory; give a file name`);
  let dirStat: fs.Stats;
  try {
    dirStat = fs.statSync(dir);
  } catch {
    throw new CliError(`cannot write ${option} ${file}: the directory ${dir} does not exist`);
  }
  if (!dirStat.isDirectory()) throw new CliError(`cannot write ${option} ${file}: ${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new CliError(`cannot write ${option} ${file}: no permission to write in ${dir}`);
  }
}

/** `dir` is a directory or can be created as one (nothing else by that name). */
export function checkDirectory(option: string, dir: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    stat = undefined;
  }
  if (stat && !stat.isDirectory()) throw new CliError(`${option} ${dir} is a file, not a directory`);
}
