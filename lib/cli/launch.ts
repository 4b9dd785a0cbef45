/**
 * `rnn-native launch --nproc N [--nnodes M --node-rank R --master-addr A --master-port P] -- <command…>`:
 * starts the N local ranks of a data-parallel job (see supervisor.ts). (Internal to the package.)
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { CliError, integer, number, Options, parseCommand } from './args';
import { runJob } from './supervisor';

export const LAUNCH_OPTIONS: Options = {
  nproc: { type: 'string' }, nnodes: { type: 'string' }, 'node-rank': { type: 'string' },
  'master-addr': { type: 'string' }, 'master-port': { type: 'string' }, 'grace-seconds': { type: 'string' },
};

export const LAUNCH_HELP = `rnn-native launch: run the local ranks of a data-parallel job

Usage:
  rnn-native launch --nproc <n> [options] -- <command> [arguments…]

Starts <n> copies of <command>, one per rank, each with RANK, LOCAL_RANK, WORLD_SIZE,
LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set for distributed.initProcessGroup().
A command that is a .js/.mjs/.cjs file runs under this node. Signals the launcher
receives (Ctrl-C, SIGTERM) go to every rank; when a rank fails, the others are stopped
and the launcher exits with the failing rank's code (128 + n for a rank ended by signal
n); 0 when every rank succeeds.

options:
  --nproc <n>             ranks on this machine (required)
  --nnodes <m>            machines in the job (default: 1); run the launcher on each
  --node-rank <r>         this machine's index, in [0, m) (default: 0)
  --master-addr <host>    where rank 0 serves the rendezvous (default: 127.0.0.1;
                          required with --nnodes > 1: rank 0's machine, as the others reach it)
  --master-port <port>    its port (default: a free port; required with --nnodes > 1)
  --grace-seconds <x>     how long stopped ranks get before SIGKILL (default: 5)

Each rank uses its share of the machine's cores for its kernels (cores / n, at least 1).
`;

/** A TCP port that was free a moment ago on this machine (the rendezvous binds it next). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function launch(args: string[], others: Record<string, string>): Promise<number> {
  const split = args.indexOf('--');
  const own = split < 0 ? args : args.slice(0, split);
  const { values: v, positionals, help } = parseCommand('launch', own, LAUNCH_OPTIONS, others);
  if (help) {
    process.stdout.write(LAUNCH_HELP);
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(`launch: the command goes after --, received ${positionals.map((p) => JSON.stringify(p)).join(' ')} before it (rnn-native launch --nproc 2 -- node train.js)`, true);
  const command = split < 0 ? [] : args.slice(split + 1);
  if (command.length === 0) throw new CliError('launch needs a command after --: rnn-native launch --nproc 2 -- node train.js', true);

  const nproc = integer(v, 'nproc', { min: 1, max: 1024 });
  if (nproc === undefined) throw new CliError('launch needs --nproc <n>: how many ranks to start on this machine', true);
  const nnodes = integer(v, 'nnodes', { min: 1, max: 65536 }) ?? 1;
  const nodeRank = integer(v, 'node-rank', { min: 0, max: nnodes - 1 }) ?? 0;
  if (nnodes > 1 && (v['master-addr'] === undefined || v['master-port'] === undefined))
    throw new CliError(`launch --nnodes ${nnodes} needs --master-addr and --master-port: the address of node 0 as the other machines reach it, and a port, the same on every machine`, true);
  const masterAddr = v['master-addr'] === undefined ? '127.0.0.1' : String(v['master-addr']);
  const masterPort = integer(v, 'master-port', { min: 1, max: 65535 }) ?? (await freePort());
  const graceSeconds = number(v, 'grace-seconds', { min: 0, max: 3600 }) ?? 5;

  const script = /\.(c|m)?js$/.test(command[0]);
  return runJob({
    command: script ? [process.execPath, path.resolve(command[0]), ...command.slice(1)] : command,
    nproc, nnodes, nodeRank, masterAddr, masterPort, graceMs: graceSeconds * 1000,
    log: (line) => process.stderr.write(`rnn-native launch: ${line}\n`),
  });
}
