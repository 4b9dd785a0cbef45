// Running the ranks of a distributed test as child processes (test/helpers/dist-rank.js) on
// 127.0.0.1, and what they print.
import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { native } from '../../lib/native/addon';

export const RANK_SCRIPT = path.join(__dirname, 'dist-rank.js');

/** Whether the addon has Gloo; when not, the caller skips with `skipMessage`. */
export const GLOO = native.distAvailable;
export const skipMessage = (file: string) => `${file}: skipped: ${native.distBackend}`;

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RankResult {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The JSON lines the rank printed. */
  lines: any[];
  stderr: string;
}

/** The environment of rank `rank` of `worldSize` meeting at port. */
export function rankEnv(rank: number, worldSize: number, port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env, RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(worldSize),
    MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), ...extra,
  };
}

/** Runs one child to its end; `onLine` sees each JSON line as it arrives. */
export function runChild(args: string[], env: NodeJS.ProcessEnv, rank: number, onLine?: (line: any, child: ChildProcess) => void): Promise<RankResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: any[] = [];
    let buffered = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!text.trim()) continue;
        const line = JSON.parse(text);
        lines.push(line);
        onLine?.(line, child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ rank, code, signal, lines, stderr }));
  });
}

/** Starts `worldSize` ranks of dist-rank.js `mode` and resolves with each one's result, by rank. */
export async function runRanks(worldSize: number, mode: string, args: Array<string | number> = [], opts: { ranks?: number[]; env?: Record<string, string> } = {}): Promise<RankResult[]> {
  const port = await freePort();
  const ranks = opts.ranks ?? Array.from({ length: worldSize }, (_, r) => r);
  return Promise.all(ranks.map((r) => runChild([RANK_SCRIPT, mode, ...args.map(String)], rankEnv(r, worldSize, port, opts.env), r)));
}

/** The one JSON line a rank printed, or an Error with its stderr. */
export function only(r: RankResult): any {
  if (r.lines.length !== 1) throw new Error(`rank ${r.rank} printed ${r.lines.length} lines (exit ${r.code}/${r.signal}): ${r.stderr}`);
  return r.lines[0];
}
