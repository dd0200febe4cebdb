/**
 * Clients measured from the outside, as whole processes: the CLI's `push` exactly as a user runs it
 * (`node bin/stripe-key-rotator.js push ...`, process start included) and the aiohttp peer — the
 * propagation guide's asynchronous Python script, the tool a team would run instead of this project.
 *
 * The peer lives outside this repository (BENCH_PEER_DIR, default ../shared/peers from the repo root:
 * `push_aiohttp.py` and a `wheels/` directory for Python 3.11). The bench installs aiohttp offline into a
 * venv under bench/.cache (gitignored, reused when present); without python3, the script or the
 * wheels, only the aiohttp rows are skipped and the results say why. The script runs unchanged, through
 * bench/peer-measure.py, which times it from the inside like client-harness.ts does for Node clients.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../scripts/build.js';
import { BENCH_CACHE, scratchDir, track } from './processes.js';
import type { ClientReport } from './protocol.js';

/** What the orchestrator needs to run one push with an outside client. */
export interface ProcessJob {
  readonly urls: readonly string[];
  readonly concurrency: number;
  readonly key: string;
  readonly masterApiKey: string;
  /** PEM file of the fleet's CA. */
  readonly caFile: string;
}

export interface ProcessRun {
  readonly report: ClientReport;
  readonly logLines: number;
  /** Spawn to exit as the orchestrator sees it: what a user waits for, process start included. */
  readonly processWallMs: number;
}

// ---------------------------------------------------------------------------------------------------------
// Measuring a process from the outside

/**
 * CPU (user, system) of the orchestrator's children that have exited and been reaped, in ms: the `cutime`
 * and `cstime` fields of /proc/self/stat (USER_HZ = 100, so 10 ms resolution). The difference around one
 * child's life is that child's whole CPU, every thread included. Zero where /proc is missing.
 */
function reapedChildrenCpu(): { user: number; system: number } {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[13]) * 10, system: Number(fields[14]) * 10 };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** The process's peak RSS so far (VmHWM), in bytes; undefined once it has exited. */
function peakRss(pid: number): number | undefined {
  try {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/** How often a process's VmHWM is sampled; a peak reached in its last few ms can escape. */
const RSS_SAMPLE_MS = 20;

export interface Finished {
  /** null when killed (the time limit). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderrTail: string;
  readonly lines: number;
  /** Spawn to exit. */
  readonly wallMs: number;
  /** Spawn to the last output on stdout: the summary, for a push. */
  readonly lastStdoutMs: number;
  readonly cpu: { user: number; system: number };
  readonly peakRssBytes: number;
}

/** Runs a command to its end (killed after `timeoutMs`), with its CPU, peak RSS and timings. */
export function runMeasured(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    const cpuBefore = reapedChildrenCpu();
    const started = performance.now();
    let child: ChildProcess;
    try {
      // A scratch working directory: files a client writes there (the CLI's push-result-*.json) go with it.
      const cwd = scratchDir('bench-client-');
      child = track(spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    } catch (error) {
      reject(error);
      return;
    }
    const pid = child.pid ?? -1;
    let peak = 0;
    const sample = (): void => {
      peak = Math.max(peak, peakRss(pid) ?? 0);
    };
    const sampler = setInterval(sample, RSS_SAMPLE_MS);
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let stdout = '';
    let stderrTail = '';
    let lines = 0;
    let lastStdoutMs = 0;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      lastStdoutMs = performance.now() - started;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const char of chunk) if (char === '\n') lines += 1;
      stderrTail = (stderrTail + chunk).slice(-2000);
    });
    child.once('error', (error) => {
      clearInterval(sampler);
      clearTimeout(killer);
      reject(error);
    });
    child.once('close', (code) => {
      const wallMs = performance.now() - started;
      clearInterval(sampler);
      clearTimeout(killer);
      const cpuAfter = reapedChildrenCpu();
      for (const char of stdout) if (char === '\n') lines += 1;
      resolvePromise({
        code,
        stdout,
        stderrTail,
        lines,
        wallMs,
        lastStdoutMs,
        cpu: { user: cpuAfter.user - cpuBefore.user, system: cpuAfter.system - cpuBefore.system },
        peakRssBytes: peak,
      });
    });
    sample();
  });
}

function sitesFile(urls: readonly string[]): string {
  const file = join(scratchDir('bench-sites-'), 'sites.txt');
  writeFileSync(file, `${urls.join('\n')}\n`);
  return file;
}

/** The orchestrator's environment and `extra`, without its loader or CA settings. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  if (extra.NODE_EXTRA_CA_CERTS === undefined) delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

// ---------------------------------------------------------------------------------------------------------
// The CLI, as a user runs it

const CLI_BIN = join(REPO_ROOT, 'bin', 'stripe-key-rotator.js');

/**
 * `node bin/stripe-key-rotator.js push --sites-file … --concurrency C --force`: the fleet's CA through
 * NODE_EXTRA_CA_CERTS (what its help tells operators), keys through the environment, the default text
 * output (one progress line per site on stderr, since stderr is not a terminal). Wall time is spawn to exit;
 * CPU is the whole process's, start-up included; peak RSS is VmHWM sampled every 20 ms.
 */
export async function runCliPush(job: ProcessJob, timeoutMs: number): Promise<ProcessRun> {
  const finished = await runMeasured(
    process.execPath,
    [
      CLI_BIN,
      'push',
      '--sites-file',
      sitesFile(job.urls),
      '--concurrency',
      String(job.concurrency),
      '--force',
    ],
    childEnv({
      NODE_EXTRA_CA_CERTS: job.caFile,
      STRIPE_SECRET_KEY: job.key,
      TEMPLATE_MASTER_API_KEY: job.masterApiKey,
    }),
    timeoutMs,
  );
  const summary = /(\d+) confirmed, (\d+) failed, (\d+) not attempted/.exec(finished.stdout);
  if (summary === null) {
    throw new Error(
      `CLI push exited with code ${finished.code} without its summary line:\n${finished.stderrTail}`,
    );
  }
  const [confirmed, failed, notAttempted] = summary.slice(1).map(Number) as [number, number, number];
  const failures: Record<string, number> = {};
  if (failed > 0) failures.failed = failed;
  if (notAttempted > 0) failures.not_attempted = notAttempted;
  return {
    report: {
      type: 'report',
      sites: job.urls.length,
      confirmed,
      failures,
      wallMs: finished.wallMs,
      cpuUserMs: finished.cpu.user,
      cpuSystemMs: finished.cpu.system,
      processCpuMs: finished.cpu.user + finished.cpu.system,
      peakRssMb: finished.peakRssBytes / 1e6,
      rssBeforeMb: Number.NaN,
    },
    logLines: finished.lines,
    processWallMs: finished.wallMs,
  };
}

/** What `npm pack` would ship (the build in dist/ as it is): tarball bytes, unpacked bytes, files. */
export interface PackageSize {
  readonly tarballBytes: number;
  readonly unpackedBytes: number;
  readonly files: number;
}

export function packageSize(): PackageSize {
  // --ignore-scripts: measure the build in dist/ (npm run build made it) rather than rebuild it here.
  const child = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (child.status !== 0)
    throw new Error(`npm pack --dry-run failed (status ${child.status}): ${child.stderr}`);
  const [packed] = JSON.parse(child.stdout) as { size: number; unpackedSize: number; entryCount: number }[];
  if (packed === undefined) throw new Error('npm pack --dry-run described no package');
  return { tarballBytes: packed.size, unpackedBytes: packed.unpackedSize, files: packed.entryCount };
}

/** One `node bin/stripe-key-rotator.js --help`, spawn to exit, in ms. */
export function timeCliHelp(): number {
  const started = performance.now();
  const child = spawnSync(process.execPath, [CLI_BIN, '--help'], {
    cwd: REPO_ROOT,
    env: childEnv({}),
    encoding: 'utf8',
    timeout: 30_000,
  });
  const wallMs = performance.now() - started;
  if (child.status !== 0) throw new Error(`CLI --help failed (status ${child.status}): ${child.stderr}`);
  return wallMs;
}

// ---------------------------------------------------------------------------------------------------------
// The aiohttp peer

export type Peer =
  | { readonly available: true; readonly python: string; readonly script: string; readonly venv: string }
  | { readonly available: false; readonly reason: string };

export const PEER_DIR = resolve(process.env.BENCH_PEER_DIR ?? join(REPO_ROOT, '..', 'shared', 'peers'));
const PEER_VENV = join(BENCH_CACHE, 'peer-venv');
const MEASURE_SCRIPT = join(REPO_ROOT, 'bench', 'peer-measure.py');
const SYSTEM_PYTHON = process.env.BENCH_PYTHON ?? 'python3';

function venvHasAiohttp(python: string): boolean {
  return (
    existsSync(python) &&
    spawnSync(python, ['-c', 'import aiohttp'], { timeout: 30_000, stdio: 'ignore' }).status === 0
  );
}

/** Finds the peer and its venv, creating the venv offline from the wheels the first time. */
export function preparePeer(): Peer {
  const script = join(PEER_DIR, 'push_aiohttp.py');
  const wheels = join(PEER_DIR, 'wheels');
  const python = join(PEER_VENV, 'bin', 'python');
  if (!existsSync(script))
    return { available: false, reason: `no peer script at ${script} (BENCH_PEER_DIR)` };
  if (venvHasAiohttp(python)) return { available: true, python, script, venv: PEER_VENV };
  const version = spawnSync(SYSTEM_PYTHON, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (version.status !== 0) return { available: false, reason: `${SYSTEM_PYTHON} is not available` };
  if (!existsSync(wheels)) return { available: false, reason: `no wheels directory at ${wheels}` };
  const steps: [string, string[]][] = [
    [SYSTEM_PYTHON, ['-m', 'venv', '--clear', PEER_VENV]],
    [
      join(PEER_VENV, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', '--no-index', '--find-links', wheels, 'aiohttp'],
    ],
  ];
  for (const [command, args] of steps) {
    const step = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000 });
    if (step.status !== 0) {
      return {
        available: false,
        reason: `installing aiohttp offline with ${version.stdout.trim()} failed: ${(step.stderr ?? '').trim().slice(-300)}`,
      };
    }
  }
  return venvHasAiohttp(python)
    ? { available: true, python, script, venv: PEER_VENV }
    : { available: false, reason: `aiohttp does not import in ${PEER_VENV} after installing it` };
}

interface PeerMeasure {
  readonly wallMs: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  readonly peakRssKiB: number;
  readonly rssBeforeBytes: number;
  readonly exitCode: number;
}

/**
 * The peer script as its docstring says to run it: keys in STRIPE_SECRET_KEY and TEMPLATE_MASTER_API_KEY,
 * --sites-file, --concurrency, and --cafile for the fleet's CA. Wall, CPU and peak RSS come from
 * peer-measure.py (the script alone, aiohttp already imported), spawn to exit from here.
 */
export async function runPeer(
  peer: Extract<Peer, { available: true }>,
  job: ProcessJob,
  timeoutMs: number,
): Promise<ProcessRun> {
  const finished = await runMeasured(
    peer.python,
    [
      MEASURE_SCRIPT,
      peer.script,
      '--sites-file',
      sitesFile(job.urls),
      '--concurrency',
      String(job.concurrency),
      '--cafile',
      job.caFile,
    ],
    childEnv({ STRIPE_SECRET_KEY: job.key, TEMPLATE_MASTER_API_KEY: job.masterApiKey }),
    timeoutMs,
  );
  const line = /^BENCH_REPORT (.+)$/m.exec(finished.stderrTail)?.[1];
  const tally = /(\d+)\/(\d+) confirmed/.exec(finished.stdout);
  if (line === undefined || tally === null) {
    throw new Error(
      `aiohttp peer exited with code ${finished.code} without a report:\n${finished.stderrTail}`,
    );
  }
  const measured = JSON.parse(line) as PeerMeasure;
  const confirmed = Number(tally[1]);
  const sites = job.urls.length;
  return {
    report: {
      type: 'report',
      sites,
      confirmed,
      failures: confirmed === sites ? {} : { failed: sites - confirmed },
      wallMs: measured.wallMs,
      cpuUserMs: measured.cpuUserMs,
      cpuSystemMs: measured.cpuSystemMs,
      processCpuMs: finished.cpu.user + finished.cpu.system,
      peakRssMb: (measured.peakRssKiB * 1024) / 1e6,
      rssBeforeMb: measured.rssBeforeBytes / 1e6,
    },
    // The report line is the bench's, not the peer's.
    logLines: finished.lines - 1,
    processWallMs: finished.wallMs,
  };
}
