/** Ctrl-C during a training command. (Internal to the package.) */
/** What a training command's progress reporter offers here. */
interface ProgressLines {
  line(text: string): void;
  end(): void;
}

/**
 * Runs `work` with a signal that the first Ctrl-C aborts (training stops after the current
 * batch, and the caller saves the model); a second Ctrl-C quits at once without saving
 * (exit 130). The progress line is closed whatever happens.
 */
export async function untilInterrupted<T>(reporter: ProgressLines, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    reporter.line('rnn-native: stopping after this batch to save the model (Ctrl-C again quits without saving)');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
    reporter.end();
  }
}
