/**
 * The process group, as torch.distributed: initProcessGroup() joins this process to the
 * others of a job (its rank among worldSize processes) through a rendezvous, and
 * destroyProcessGroup() leaves. The group is process-wide: fit()'s training thread uses the
 * one the main thread initialised.
 */
import { native } from '../native/addon';
import { setNumThreads } from '../native/runtime';
import { checkInteger, checkKnownOptions, checkOneOf, checkOptions, typeError } from '../core/validate';
import { envInteger, envString, localWorldSize } from './env';
import { afterPreviousCollectives } from './queue';

/** What initProcessGroup takes; every field is optional. */
export interface InitProcessGroupOptions {
  /** The collective backend: 'gloo' (the only one; CPU tensors over TCP). */
  backend?: 'gloo';
  /**
   * How long any wait may last before it fails: the rendezvous, and each collective (unless
   * the call gives its own). A rank that dies or hangs makes the others fail within it.
   * Default 60 000 ms.
   */
  timeoutMs?: number;
  /**
   * Where the ranks meet: 'env://' (default: MASTER_ADDR and MASTER_PORT, rank 0 serving a
   * TCP store there), 'tcp://host:port' (the same, given here), or 'file:///a/shared/dir' (a
   * directory every rank sees, empty at the start).
   */
  initMethod?: string;
  /** This process's rank, in [0, worldSize). Default: the environment variable RANK. */
  rank?: number;
  /** How many processes the job has. Default: the environment variable WORLD_SIZE. */
  worldSize?: number;
  /**
   * Kernel threads for this rank. Default: the machine's cores divided by the ranks on it
   * (LOCAL_WORLD_SIZE, which `rnn-native launch` sets), at least 1, so that the ranks of one
   * machine do not oversubscribe it.
   */
  numThreads?: number;
}

const OPTIONS = ['backend', 'timeoutMs', 'initMethod', 'rank', 'worldSize', 'numThreads'];
const CTX = 'initProcessGroup';

interface Rendezvous {
  store: 'tcp' | 'file';
  where: string;
  port: number;
}

/** The rendezvous an initMethod describes (MASTER_ADDR and MASTER_PORT for 'env://'). */
function rendezvousOf(initMethod: string): Rendezvous {
  if (initMethod === 'env://') {
    const where = envString('MASTER_ADDR');
    if (where === undefined)
      throw new TypeError(`${CTX}: expected a host for the environment variable MASTER_ADDR but it is not set: start the ranks with \`rnn-native launch\`, or set MASTER_ADDR and MASTER_PORT`);
    const port = envInteger(CTX, 'MASTER_PORT', 1, 65535);
    if (port === undefined)
      throw new TypeError(`${CTX}: expected a port in [1, 65535] for the environment variable MASTER_PORT but it is not set: start the ranks with \`rnn-native launch\`, or set MASTER_ADDR and MASTER_PORT`);
    return { store: 'tcp', where, port };
  }
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(initMethod);
  if (tcp) {
    const port = Number(tcp[2]);
    if (!(port >= 1 && port <= 65535))
      throw new RangeError(`${CTX}: expected a port in [1, 65535] in initMethod but received ${JSON.stringify(initMethod)}`);
    return { store: 'tcp', where: tcp[1].replace(/^\[|\]$/g, ''), port };
  }
  if (initMethod.startsWith('file://')) {
    const dir = decodeURIComponent(initMethod.slice('file://'.length));
    if (!dir.startsWith('/'))
      throw new RangeError(`${CTX}: expected an absolute directory in initMethod ('file:///path/to/dir') but received ${JSON.stringify(initMethod)}`);
    return { store: 'file', where: dir, port: 0 };
  }
  throw new RangeError(`${CTX}: expected 'env://', 'tcp://host:port' or 'file:///directory' for initMethod but received ${JSON.stringify(initMethod)}`);
}

/** An integer option, or the environment variable's value; a TypeError naming both when neither is there. */
function rankOrEnv(value: unknown, name: string, envName: string, min: number, max: number): number {
  if (value !== undefined) return checkInteger(CTX, name, value, min, max);
  const fromEnv = envInteger(CTX, envName, min, max);
  if (fromEnv === undefined)
    throw new TypeError(`${CTX}: expected an integer for ${name} (or the environment variable ${envName}) but neither is set: start the ranks with \`rnn-native launch\`, or pass { ${name} }`);
  return fromEnv;
}

/**
 * Whether this build of the addon has a distributed backend (it was compiled with Gloo).
 * @example if (!distributed.isAvailable()) console.log('single process only');
 */
export function isAvailable(): boolean {
  return native.distAvailable;
}

/**
 * Whether a process group is initialised in this process.
 * @example if (!distributed.isInitialized()) await distributed.initProcessGroup();
 */
export function isInitialized(): boolean {
  return native.distInfo() !== null;
}

/** [rank, worldSize, timeoutMs] of the group, or an Error naming the caller. @internal */
export function groupInfo(ctx: string): [number, number, number] {
  const info = native.distInfo();
  if (info === null) throw new Error(`${ctx}: no process group is initialised: call initProcessGroup() first`);
  return info;
}

/**
 * Joins this process to a job's process group: reads its rank and the job's size (options or
 * RANK / WORLD_SIZE), meets the other ranks at the rendezvous (rank 0 serves it on
 * MASTER_ADDR:MASTER_PORT), connects to every one of them, and sets this rank's kernel threads
 * to its share of the machine's cores. Resolves when every rank has arrived; rejects when one
 * has not within `timeoutMs`. Throws (an Error naming libgloo-dev) when the addon was built
 * without Gloo.
 *
 * @example
 * // started by `rnn-native launch --nproc 2 -- node train.js`
 * await distributed.initProcessGroup({ backend: 'gloo' });
 * console.log(`rank ${distributed.getRank()} of ${distributed.getWorldSize()}`);
 */
export async function initProcessGroup(options: InitProcessGroupOptions = {}): Promise<void> {
  const o = checkOptions<InitProcessGroupOptions>(CTX, 'options', options);
  checkKnownOptions(CTX, o, OPTIONS);
  if (o.backend !== undefined) checkOneOf(CTX, 'backend', o.backend, ['gloo'] as const);
  const timeoutMs = o.timeoutMs === undefined ? 60_000 : checkInteger(CTX, 'timeoutMs', o.timeoutMs, 1, 2 ** 31 - 1);
  if (o.initMethod !== undefined && typeof o.initMethod !== 'string') throw typeError(CTX, 'initMethod', "a string ('env://', 'tcp://host:port' or 'file:///dir')", o.initMethod);
  const numThreads = o.numThreads === undefined ? undefined : checkInteger(CTX, 'numThreads', o.numThreads, 1, 1024);
  const worldSize = rankOrEnv(o.worldSize, 'worldSize', 'WORLD_SIZE', 1, 1 << 20);
  const rank = rankOrEnv(o.rank, 'rank', 'RANK', 0, 1 << 20);
  if (rank >= worldSize) throw new RangeError(`${CTX}: expected a rank in [0, ${worldSize - 1}] (worldSize ${worldSize}) but received ${rank}`);
  const { store, where, port } = rendezvousOf(o.initMethod ?? 'env://');
  // Arguments first, then what this build can do: a wrong call says what is wrong with it everywhere.
  if (!native.distAvailable) throw new Error(`${CTX}: ${native.distBackend}`);
  const iface = envString('GLOO_SOCKET_IFNAME') ?? '';
  const cores = native.hardwareConcurrency() || 1;
  const threads = numThreads ?? Math.max(1, Math.floor(cores / localWorldSize()));
  await afterPreviousCollectives(() => native.distInit(rank, worldSize, store, where, port, iface, timeoutMs));
  setNumThreads(threads);
}

/**
 * Leaves the process group: after the collective in flight (if any), closes the connections
 * (rank 0 also stops serving the rendezvous). Does nothing when there is no group. A new
 * group may be initialised afterwards.
 * @example await distributed.destroyProcessGroup();
 */
export async function destroyProcessGroup(): Promise<void> {
  await afterPreviousCollectives(() => native.distDestroy());
}

/**
 * This process's rank in the group, in [0, getWorldSize()).
 * @example if (distributed.getRank() === 0) console.log('I write the checkpoints');
 */
export function getRank(): number {
  return groupInfo('getRank')[0];
}

/**
 * How many processes the group has.
 * @example const shard = Math.floor(data.length / distributed.getWorldSize());
 */
export function getWorldSize(): number {
  return groupInfo('getWorldSize')[1];
}

/**
 * This rank's index among the ranks of its machine (LOCAL_RANK, set by `rnn-native launch`; 0 without it).
 * @example const device = distributed.getLocalRank();
 */
export function getLocalRank(): number {
  return envInteger('getLocalRank', 'LOCAL_RANK', 0, 1 << 20) ?? 0;
}
