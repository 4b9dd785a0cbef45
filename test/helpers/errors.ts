// Asserting errors by class and message.

/** Throws `cls` (TypeError vs RangeError matters) with every substring in its message. */
export function throwsWith(fn: () => unknown, cls: typeof TypeError | typeof RangeError, ...parts: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  for (const part of parts) expect((err as Error).message).toContain(part);
}
