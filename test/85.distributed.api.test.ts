// distributed: argument checks of the process group and its collectives (every mistake a
// TypeError or RangeError naming the argument, before anything reaches the network), and a
// one-rank group in this process. Multi-process behaviour is in test/86–88.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { distributed as dist, Tensor } from '../lib';
import { native } from '../lib/native/addon';

const AVAILABLE = native.distAvailable;
if (!AVAILABLE) console.warn(`test/85: the group tests are skipped: ${native.distBackend}`);
const withGloo = AVAILABLE ? describe : describe.skip;

/** The error a promise-returning call rejects (or throws) with. */
async function failure(f: () => Promise<unknown>): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

/** Runs f with environment variables set (undefined removes one), restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

/** A TCP port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const NO_ENV = { RANK: undefined, WORLD_SIZE: undefined, MASTER_ADDR: undefined, MASTER_PORT: undefined, LOCAL_WORLD_SIZE: undefined };

describe('distributed without a process group', () => {
  it('reports whether the build has a backend', () => {
    expect(dist.isAvailable()).toBe(AVAILABLE);
    expect(dist.isInitialized()).toBe(false);
  });

  it('getRank, getWorldSize and the collectives need a group: an Error saying to initialise one', async () => {
    expect(() => dist.getRank()).toThrow('getRank: no process group is initialised: call initProcessGroup() first');
    expect(() => dist.getWorldSize()).toThrow('getWorldSize: no process group is initialised');
    expect((await failure(() => dist.allReduce(new Float32Array(2)))).message).toContain('allReduce: no process group is initialised');
    expect((await failure(() => dist.broadcast(new Float32Array(2), 0))).message).toContain('broadcast: no process group is initialised');
    expect((await failure(() => dist.barrier())).message).toContain('barrier: no process group is initialised');
  });

  it('allReduce checks data and op before anything else', async () => {
    let e = await failure(() => dist.allReduce([1, 2] as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('allReduce: expected a Float32Array or a Tensor for data but received [1, 2] of type array');
    e = await failure(() => dist.allReduce(new Float64Array(2) as never));
    expect(e).toBeInstanceOf(TypeError);
    e = await failure(() => dist.allReduce(new Float32Array(2), 'avg' as never));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('allReduce: expected one of "sum", "mean", "max", "min" for op but received "avg" of type string');
  });

  it('destroyProcessGroup without a group does nothing', async () => {
    await expect(dist.destroyProcessGroup()).resolves.toBeUndefined();
  });

  it('getLocalRank reads LOCAL_RANK (0 without it) and names a malformed one', async () => {
    await withEnv({ LOCAL_RANK: undefined }, async () => expect(dist.getLocalRank()).toBe(0));
    await withEnv({ LOCAL_RANK: '3' }, async () => expect(dist.getLocalRank()).toBe(3));
    await withEnv({ LOCAL_RANK: 'one' }, async () =>
      expect(() => dist.getLocalRank()).toThrow('getLocalRank: expected an integer in [0, 1048576] for the environment variable LOCAL_RANK but received "one"'));
  });
});

describe('initProcessGroup: its options and environment (checked before anything else, with or without Gloo)', () => {
  const cases: Array<[string, Record<string, string | undefined>, unknown, typeof Error, string]> = [
    ['a backend other than gloo', {}, { backend: 'nccl' }, RangeError, 'initProcessGroup: expected one of "gloo" for backend but received "nccl"'],
    ['an unknown option', {}, { timeout: 5 }, RangeError, 'initProcessGroup: unknown option "timeout" (did you mean "timeoutMs"?)'],
    ['a timeout that is not a positive integer', {}, { timeoutMs: 0 }, RangeError, 'expected an integer in [1, 2147483647] for timeoutMs but received 0'],
    ['options that are not an object', {}, 'gloo', TypeError, 'expected an options object for options but received "gloo"'],
    ['no WORLD_SIZE', NO_ENV, {}, TypeError, 'expected an integer for worldSize (or the environment variable WORLD_SIZE) but neither is set: start the ranks with `rnn-native launch`'],
    ['no RANK', { ...NO_ENV, WORLD_SIZE: '2' }, {}, TypeError, 'expected an integer for rank (or the environment variable RANK) but neither is set'],
    ['a malformed RANK', { ...NO_ENV, WORLD_SIZE: '2', RANK: '1.5' }, {}, RangeError, 'expected an integer in [0, 1048576] for the environment variable RANK but received "1.5"'],
    ['a rank beyond the world', { ...NO_ENV, WORLD_SIZE: '2', RANK: '2' }, {}, RangeError, 'expected a rank in [0, 1] (worldSize 2) but received 2'],
    ['no MASTER_ADDR', { ...NO_ENV, WORLD_SIZE: '1', RANK: '0' }, {}, TypeError, 'expected a host for the environment variable MASTER_ADDR but it is not set'],
    ['no MASTER_PORT', { ...NO_ENV, WORLD_SIZE: '1', RANK: '0', MASTER_ADDR: '127.0.0.1' }, {}, TypeError, 'expected a port in [1, 65535] for the environment variable MASTER_PORT but it is not set'],
    ['a port out of range', { ...NO_ENV, WORLD_SIZE: '1', RANK: '0', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '70000' }, {}, RangeError, 'for the environment variable MASTER_PORT but received "70000"'],
    ['an initMethod of no known kind', NO_ENV, { rank: 0, worldSize: 1, initMethod: 'redis://x' }, RangeError, "expected 'env://', 'tcp://host:port' or 'file:///directory' for initMethod but received \"redis://x\""],
    ['a relative file store', NO_ENV, { rank: 0, worldSize: 1, initMethod: 'file://tmp/x' }, RangeError, "expected an absolute directory in initMethod ('file:///path/to/dir')"],
    ['a rank option beyond worldSize', NO_ENV, { rank: 3, worldSize: 2, initMethod: 'tcp://127.0.0.1:1' }, RangeError, 'expected a rank in [0, 1] (worldSize 2) but received 3'],
    ['numThreads out of range', NO_ENV, { numThreads: 0 }, RangeError, 'expected an integer in [1, 1024] for numThreads but received 0'],
  ];
  it.each(cases)('refuses %s', async (_what, env, options, cls, text) => {
    const e = await withEnv(env, () => failure(() => dist.initProcessGroup(options as never)));
    expect(e).toBeInstanceOf(cls);
    expect(e.message).toContain(text);
    expect(dist.isInitialized()).toBe(false);
  });

});

withGloo('initProcessGroup: what only the rendezvous finds', () => {
  it('a file store directory that does not exist is an Error naming it', async () => {
    const e = await failure(() => dist.initProcessGroup({ rank: 0, worldSize: 1, initMethod: 'file:///nonexistent/rnn-native-85' }));
    expect(e.message).toContain("initProcessGroup (rank 0 of 1): the file store's directory /nonexistent/rnn-native-85 does not exist");
    expect(dist.isInitialized()).toBe(false);
  });
});

(AVAILABLE ? describe.skip : describe)('a build without Gloo', () => {
  it('initProcessGroup rejects with an Error naming the package to install', async () => {
    const e = await failure(() => dist.initProcessGroup({ rank: 0, worldSize: 1, initMethod: 'tcp://127.0.0.1:29999' }));
    expect(e.constructor.name).toBe('Error');
    expect(e.message).toBe(`initProcessGroup: ${native.distBackend}`);
    expect(e.message).toContain('sudo apt-get install -y libgloo-dev');
  });
});

withGloo('a one-rank group in this process', () => {
  afterEach(() => dist.destroyProcessGroup());

  it('joins (TCP store), reduces as the identity, refuses a second init, and can be joined again after destroy (file store)', async () => {
    const threads = (await import('../lib')).getNumThreads();
    const port = await freePort();
    await withEnv({ ...NO_ENV, LOCAL_WORLD_SIZE: '1' }, () => dist.initProcessGroup({ rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${port}`, numThreads: threads }));
    expect([dist.getRank(), dist.getWorldSize(), dist.isInitialized()]).toEqual([0, 1, true]);
    const a = Float32Array.of(1, -2, 3.5);
    await dist.allReduce(a, 'mean');
    expect(Array.from(a)).toEqual([1, -2, 3.5]);
    const t = new Tensor([4, 5], [2]);
    await dist.broadcast(t, 0);
    expect(Array.from(t.data)).toEqual([4, 5]);
    await dist.barrier({ timeoutMs: 1000 });
    let e = await failure(() => dist.initProcessGroup({ rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${port}` }));
    expect(e.message).toContain('initProcessGroup: a process group is already initialised');
    e = await failure(() => dist.broadcast(new Float32Array(1), 1));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('broadcast: expected a rank in [0, 0] for src (worldSize 1) but received 1');
    e = await failure(() => dist.barrier({ timeoutMs: -1 }));
    expect(e).toBeInstanceOf(RangeError);
    await dist.destroyProcessGroup();
    expect(dist.isInitialized()).toBe(false);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-85-'));
    try {
      await dist.initProcessGroup({ rank: 0, worldSize: 1, initMethod: `file://${dir}`, numThreads: threads });
      expect(dist.getWorldSize()).toBe(1);
      expect(fs.readdirSync(dir)).toEqual([]); // the store's files go once every rank has connected
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sets the kernel threads to the cores divided by LOCAL_WORLD_SIZE, at least 1', async () => {
    const lib = await import('../lib');
    const before = lib.getNumThreads();
    const cores = native.hardwareConcurrency();
    try {
      await withEnv({ ...NO_ENV, LOCAL_WORLD_SIZE: String(cores * 4) }, async () => dist.initProcessGroup({ rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${await freePort()}` }));
      expect(lib.getNumThreads()).toBe(1);
      await dist.destroyProcessGroup();
      await withEnv({ ...NO_ENV, LOCAL_WORLD_SIZE: '1' }, async () => dist.initProcessGroup({ rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${await freePort()}` }));
      expect(lib.getNumThreads()).toBe(cores);
    } finally {
      lib.setNumThreads(before);
    }
  });
});
