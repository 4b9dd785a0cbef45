/**
 * Async kernel calls (forwardAsync, generateAsync) run one at a time, in the order they were
 * made. Each is a job on libuv's thread pool that holds the library's compute lock while it
 * runs; queueing them here instead of in the pool means at most one pool thread waits on the
 * lock (fs, dns, zlib and crypto keep the others), and the order is the callers', which a
 * mutex does not promise. @internal
 */
let tail: Promise<unknown> = Promise.resolve();

/** Starts `job` once every earlier job has settled; settles with it. */
export function afterPreviousJobs<T>(job: () => Promise<T>): Promise<T> {
  const run = tail.then(job, job);
  tail = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}
