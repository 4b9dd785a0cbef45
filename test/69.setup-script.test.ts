// scripts/setup.sh waits for another apt instead of failing at once. apt 2.6 waits for dpkg's
// lock itself (DPkg::Lock::Timeout) but not for the package lists' lock that `apt-get update`
// takes, so the script retries. Run against a private lists directory (and no sources), so the
// machine's own apt locks are never touched. Needs root (the script would call sudo), apt-get
// and python3 (to hold an fcntl lock the way apt does); skipped where any is missing.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'setup.sh');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const usable = process.getuid?.() === 0 && has('apt-get') && has('python3');
const maybe = usable ? describe : describe.skip;

maybe('scripts/setup.sh apt_update', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-69-'));
    fs.mkdirSync(path.join(dir, 'lists', 'partial'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'sources.d'));
    fs.mkdirSync(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Holds lists/lock (fcntl, as apt does) for `seconds` or until released; resolves once it is held. */
  function holdLock(seconds: number): Promise<{ done: Promise<void>; release: () => void }> {
    const child = spawn('python3', ['-c', [
      'import fcntl, os, sys, time',
      `fd = os.open(${JSON.stringify(path.join(dir, 'lists', 'lock'))}, os.O_RDWR | os.O_CREAT, 0o640)`,
      'fcntl.lockf(fd, fcntl.LOCK_EX)',
      "print('held', flush=True)",
      `time.sleep(${seconds})`,
    ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
    return new Promise((resolve) => child.stdout.once('data', () => resolve({ done, release: () => child.kill() })));
  }

  function update(wait: number): Promise<{ status: number | null; stderr: string; seconds: number }> {
    const opts = `-o Dir::State::Lists=${dir}/lists -o Dir::Cache=${dir}/cache -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts=${dir}/sources.d`;
    const started = Date.now();
    const child = spawn('bash', ['-c', `source ${JSON.stringify(SCRIPT)}; APT_LOCK_WAIT=${wait}; apt_update ${opts}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr, seconds: (Date.now() - started) / 1000 })));
  }

  it('waits while another apt holds the lists lock, says so once, then updates', async () => {
    const { done } = await holdLock(4);
    const r = await update(60);
    await done;
    expect(r.status).toBe(0);
    expect(r.seconds).toBeGreaterThanOrEqual(3.5);
    expect(r.stderr.match(/setup: another apt is updating the package lists; waiting for it \(up to 60 s\): E: Could not get lock/g)).toHaveLength(1);
  });

  it("gives up after APT_LOCK_WAIT seconds with apt's own message and status", async () => {
    const { done, release } = await holdLock(30);
    const r = await update(2);
    release();
    await done;
    expect(r.status).toBe(100);
    expect(r.seconds).toBeGreaterThanOrEqual(1); // bash counts whole seconds
    expect(r.seconds).toBeLessThan(7);
    expect(r.stderr).toMatch(/E: Could not get lock .*lists\/lock/);
  });

  it('without a lock held it does not wait', async () => {
    const r = await update(60);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.seconds).toBeLessThan(3);
  });
});

it('scripts/setup.sh passes DPkg::Lock::Timeout to apt-get install and sources without running', () => {
  const text = fs.readFileSync(SCRIPT, 'utf8');
  expect(text).toMatch(/apt-get install [^\n]*-o DPkg::Lock::Timeout="\$APT_LOCK_WAIT"/);
  const r = spawnSync('bash', ['-c', `source ${JSON.stringify(SCRIPT)}; type apt_update apt_install main >/dev/null && echo defined`], { encoding: 'utf8' });
  expect([r.status, r.stdout]).toEqual([0, 'defined\n']);
});
