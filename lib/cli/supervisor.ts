/**
 * Runs the local ranks of a distributed job (`rnn-native launch`): starts one process per
 * rank with its environment, forwards the signals the launcher receives, and when a rank
 * fails stops the others and reports the first failure's exit code. (Internal to the package.)
 */
import { ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';

export interface JobSpec {
  /** The command and its arguments, run once per local rank. */
  command: string[];
  /** Ranks on this machine, and the machine's place among the job's. */
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /** How long ranks asked to stop (SIGTERM) get before SIGKILL, in ms. */
  graceMs: number;
  /** Where the launcher's own lines go (stderr). */
  log: (line: string) => void;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** The shell's exit code for a process ended by `signal`: 128 + its number. */
function signalCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Starts the ranks and resolves with the job's exit code: 0 when every rank exited with 0,
 * else the code of the first rank that failed (128 + n for a rank ended by signal n).
 */
export function runJob(spec: JobSpec): Promise<number> {
  const worldSize = spec.nproc * spec.nnodes;
  const children: ChildProcess[] = [];
  const running = new Set<number>(); // local ranks still alive
  let firstFailure: { rank: number; code: number } | null = null;
  let killTimer: NodeJS.Timeout | null = null;

  // Each rank leads a process group of its own, so a signal reaches what it started too
  // (`sh -c …`, a script's helpers) and a Ctrl-C at the terminal reaches the ranks once,
  // forwarded by us, rather than twice.
  const signalRank = (local: number, signal: NodeJS.Signals) => {
    const pid = children[local]?.pid;
    if (pid === undefined || !running.has(local)) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  };
  const stopAll = () => {
    for (const local of running) signalRank(local, 'SIGTERM');
    killTimer ??= setTimeout(() => {
      for (const local of running) signalRank(local, 'SIGKILL');
    }, spec.graceMs);
    killTimer.unref();
  };

  return new Promise<number>((resolve) => {
    const forward = (signal: NodeJS.Signals) => {
      spec.log(`received ${signal}: passing it to the ranks`);
      for (const local of running) signalRank(local, signal);
    };
    for (const s of FORWARDED) process.on(s, forward);

    const finished = () => {
      for (const s of FORWARDED) process.off(s, forward);
      if (killTimer) clearTimeout(killTimer);
      resolve(firstFailure?.code ?? 0);
    };

    for (let local = 0; local < spec.nproc; local++) {
      const rank = spec.nodeRank * spec.nproc + local;
      const env = {
        ...process.env,
        RANK: String(rank), LOCAL_RANK: String(local), WORLD_SIZE: String(worldSize), LOCAL_WORLD_SIZE: String(spec.nproc),
        GROUP_RANK: String(spec.nodeRank), MASTER_ADDR: spec.masterAddr, MASTER_PORT: String(spec.masterPort),
      };
      const child = spawn(spec.command[0], spec.command.slice(1), { stdio: 'inherit', env, detached: true });
      children.push(child);
      running.add(local);
      let done = false;
      const ended = (code: number, why: string) => {
        if (done) return;
        done = true;
        running.delete(local);
        if (code !== 0 && firstFailure === null) {
          firstFailure = { rank, code };
          if (running.size > 0) spec.log(`rank ${rank} ${why}; stopping the other ranks`);
          else spec.log(`rank ${rank} ${why}`);
          stopAll();
        }
        if (running.size === 0) finished();
      };
      child.on('error', (err) => ended(127, `could not be started (${err.message})`));
      child.on('exit', (code, signal) => {
        if (signal) ended(signalCode(signal), `was ended by ${signal}`);
        else ended(code ?? 1, `exited with code ${code}`);
      });
    }
  });
}
