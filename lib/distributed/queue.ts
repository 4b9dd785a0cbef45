/**
 * The collectives a thread starts run one at a time, in the order they were called: the ranks
 * must meet in the same sequence of calls, and each call holds one of libuv's four pool threads
 * while it waits for the others, so queueing here keeps that to one (fs, dns and zlib keep the
 * rest). A separate queue from the kernels' (lib/native/async-queue.ts): a collective waiting
 * for a slow rank must not hold up inference. @internal
 */
let tail: Promise<unknown> = Promise.resolve();

/** Starts `job` once every earlier collective of this thread has settled; settles with it. */
export function afterPreviousCollectives<T>(job: () => Promise<T>): Promise<T> {
  const run = tail.then(job, job);
  tail = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}
