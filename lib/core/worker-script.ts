/** Where the compiled script of a worker thread is. (Internal to the package.) */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The compiled `<name>.js` of a worker thread whose source sits in lib/<folder>/: next to the
 * calling module in dist/, or in dist/<folder>/ when the caller runs from the TypeScript
 * sources (ts-jest, ts-node). `ctx` names the feature in the error when neither exists.
 */
export function workerScript(ctx: string, callerDir: string, folder: string, name: string): string {
  const here = path.join(callerDir, `${name}.js`);
  if (fs.existsSync(here)) return here;
  const built = path.join(callerDir, '..', '..', 'dist', folder, `${name}.js`);
  if (fs.existsSync(built)) return built;
  throw new Error(`${ctx}: dist/${folder}/${name}.js is missing; run \`npm run build:ts\``);
}

/** Rebuilds an error a worker sent as { name, message } with its own class (TypeError, RangeError, …). */
export function reviveWorkerError(e: { name: string; message: string }): Error {
  const Ctor = e.name === 'TypeError' ? TypeError : e.name === 'RangeError' ? RangeError : Error;
  const err = new Ctor(e.message);
  if (Ctor === Error && e.name !== 'Error') err.name = e.name;
  return err;
}
