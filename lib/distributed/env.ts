/**
 * The environment a launcher gives each rank (torchrun's names): RANK, WORLD_SIZE,
 * LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, read and checked. A variable
 * that is set but malformed is a RangeError naming it, what it must be and what it holds.
 * @internal
 */

/** The integer in environment variable `name`, or undefined when it is unset or empty. */
export function envInteger(ctx: string, name: string, min: number, max: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`${ctx}: expected an integer in [${min}, ${max}] for the environment variable ${name} but received ${JSON.stringify(raw)}`);
  return n;
}

/** The string in environment variable `name`, or undefined when it is unset or empty. */
export function envString(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

/** LOCAL_WORLD_SIZE: how many ranks share this machine (the launcher sets it; 1 otherwise). */
export function localWorldSize(): number {
  return envInteger('distributed', 'LOCAL_WORLD_SIZE', 1, 1 << 20) ?? 1;
}

/** LOCAL_RANK: this rank's index on its machine (the launcher sets it; 0 otherwise). */
export function localRank(): number {
  return envInteger('distributed', 'LOCAL_RANK', 0, 1 << 20) ?? 0;
}
