/**
 * Child-process plumbing shared by `run.ts` and `smoke.ts`: the fleet process, the bundled client processes,
 * and the guarantee that no child outlives the orchestrator. Every wait is bounded.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../scripts/build.js';
import type { ClientJob, ClientMessage, ClientReport, FleetCommand, FleetReply } from './protocol.js';
import { FLEET_PORT } from './protocol.js';

/** The bench's own directory. */
export const BENCH_DIR = join(REPO_ROOT, 'bench');
/**
 * What the bench keeps between runs (the peer's venv) and writes for partial runs; beside the package, not in
 * its node_modules, which `npm ci` empties (gitignored in bench/.gitignore).
 */
export const BENCH_CACHE = join(BENCH_DIR, '.cache');

/** Where a run writes results.md and its chart: the committed files only for a complete run. */
export function resultsDir(partial: boolean): string {
  return partial ? join(BENCH_CACHE, 'results') : BENCH_DIR;
}

// ---------------------------------------------------------------------------------------------------------
// Children never outlive the orchestrator

const children = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];

function killChildren(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const cleanup of cleanups.splice(0)) cleanup();
}

process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A temporary directory removed when the orchestrator exits. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Resolves with the first message `accept` returns a value for; rejects on exit or after `timeoutMs`. */
function nextMessage<M, T>(
  child: ChildProcess,
  what: string,
  timeoutMs: number,
  accept: (message: M) => T | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const timer = setTimeout(() => {
      done();
      child.kill('SIGKILL');
      reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: M): void => {
      let value: T | undefined;
      try {
        value = accept(message);
      } catch (error) {
        done();
        reject(error);
        return;
      }
      if (value === undefined) return;
      done();
      resolve(value);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      done();
      reject(new Error(`${what}: process exited (code ${code}, signal ${signal}) before answering`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

// ---------------------------------------------------------------------------------------------------------
// The fleet process

export interface FleetOptions {
  readonly size: number;
  readonly firstAddress: string;
  readonly masterApiKey: string;
  readonly latencyMs?: number;
}

export interface FleetHandle {
  readonly caPem: string;
  readonly urls: readonly string[];
  readonly startMs: number;
  readonly pid: number;
  setLatency(latencyMs: number): Promise<void>;
  /** Forgets what every site stores, so a case starts from an empty fleet; returns the fleet's CPU so far. */
  reset(): Promise<{ cpuMs: number }>;
  /** How many of the first `first` sites store the key with this fingerprint, and the fleet's CPU so far. */
  holding(first: number, keyFingerprint: string): Promise<{ holding: number; cpuMs: number }>;
  close(): void;
}

const FLEET_START_TIMEOUT_MS = 180_000;
const FLEET_COMMAND_TIMEOUT_MS = 30_000;

export async function startFleetProcess(options: FleetOptions): Promise<FleetHandle> {
  const child = track(
    fork(join(REPO_ROOT, 'bench', 'fleet-process.ts'), [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const pid = child.pid ?? -1;
  const request = <T>(
    command: FleetCommand,
    timeoutMs: number,
    accept: (reply: FleetReply) => T | undefined,
  ) => {
    const answer = nextMessage<FleetReply, T>(
      child,
      `fleet process (${command.type})`,
      timeoutMs,
      (reply) => {
        if (reply.type === 'failed') throw new Error(`fleet process failed: ${reply.message}`);
        return accept(reply);
      },
    );
    child.send(command);
    return answer;
  };
  let nextId = 1;
  const command = (
    body:
      | { type: 'latency'; latencyMs: number }
      | { type: 'reset' }
      | { type: 'count'; first: number; keyFingerprint: string },
  ) => {
    const id = nextId++;
    return request({ ...body, id }, FLEET_COMMAND_TIMEOUT_MS, (reply) =>
      reply.type === 'done' && reply.id === id ? reply : undefined,
    );
  };

  const ready = await request(
    {
      type: 'start',
      size: options.size,
      firstAddress: options.firstAddress,
      port: FLEET_PORT,
      masterApiKey: options.masterApiKey,
      latencyMs: options.latencyMs ?? 0,
    },
    FLEET_START_TIMEOUT_MS,
    (reply) => (reply.type === 'ready' ? reply : undefined),
  );
  return {
    caPem: ready.caPem,
    urls: ready.urls,
    startMs: ready.startMs,
    pid,
    async setLatency(latencyMs) {
      await command({ type: 'latency', latencyMs });
    },
    async reset() {
      const { cpuMs } = await command({ type: 'reset' });
      return { cpuMs };
    },
    async holding(first, keyFingerprint) {
      const { cpuMs, holding } = await command({ type: 'count', first, keyFingerprint });
      return { cpuMs, holding: holding ?? 0 };
    },
    close() {
      child.kill('SIGTERM');
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Client processes

/**
 * The measured clients: the engine (the Lambda's push), the CLI as a user runs it, the aiohttp peer and
 * bare fetch; then, to explain them, bare undici with a default Agent, bare undici through a one-shot Agent
 * shaped like the fleet connector (one TLS context, no keep-alive), bare Node `http.request` and the bare-TLS
 * floor. `cli` and `aiohttp` are whole processes measured from outside (process-clients.ts); the others are
 * bundled clients that measure their push from inside (client-harness.ts).
 */
export const CLIENT_KINDS = [
  'engine',
  'cli',
  'aiohttp',
  'fetch',
  'undici',
  'undici-fleet',
  'tls-floor',
  'node-https',
] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
export type BundledKind = Exclude<ClientKind, 'cli' | 'aiohttp'>;
type Bundle = 'engine' | 'fetch' | 'undici' | 'tls' | 'https';

const CLIENT_SETUP: Readonly<Record<BundledKind, { bundle: Bundle; dispatcher?: 'fleet' }>> = {
  engine: { bundle: 'engine' },
  fetch: { bundle: 'fetch' },
  undici: { bundle: 'undici' },
  'undici-fleet': { bundle: 'undici', dispatcher: 'fleet' },
  'tls-floor': { bundle: 'tls' },
  'node-https': { bundle: 'https' },
};

export interface ClientBundles {
  /** Only the bundles of the kinds asked for: the undici clients need the bench package's own install. */
  readonly files: Readonly<Partial<Record<Bundle, string>>>;
  /** PEM file of the fleet's CA: NODE_EXTRA_CA_CERTS for fetch and the CLI, --cafile for the peer. */
  readonly caFile: string;
}

/** BENCH_SOURCE_MAPS=1: clients carry a source map and run with --enable-source-maps, as the construct deploys. */
const sourceMaps = process.env.BENCH_SOURCE_MAPS === '1';
/** BENCH_CPU_PROF=<dir>: every client writes a V8 CPU profile there (open it in Chrome DevTools). */
const profileDir = process.env.BENCH_CPU_PROF;

/**
 * Bundles the clients the way the Lambda is bundled (esbuild, CJS, node20, minified) and runs them with
 * plain `node`: no TypeScript loader thread inflates a client's memory or CPU.
 */
export async function bundleClients(
  caPem: string,
  kinds: readonly BundledKind[] = Object.keys(CLIENT_SETUP) as BundledKind[],
): Promise<ClientBundles> {
  const dir = scratchDir('bench-clients-');
  const files: Partial<Record<Bundle, string>> = {};
  for (const bundle of new Set(kinds.map((kind) => CLIENT_SETUP[kind].bundle))) {
    const outfile = join(dir, `client-${bundle}.cjs`);
    await build({
      entryPoints: [join(REPO_ROOT, 'bench', `client-${bundle}.ts`)],
      outfile,
      bundle: true,
      // Profiles should show function names, not minified letters.
      minify: profileDir === undefined,
      ...(sourceMaps ? { sourcemap: true, sourcesContent: false } : {}),
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      logLevel: 'error',
    });
    files[bundle] = outfile;
  }
  const caFile = join(dir, 'fleet-ca.pem');
  writeFileSync(caFile, caPem);
  return { files, caFile };
}

export interface ClientRun {
  readonly report: ClientReport;
  /** Lines the client wrote to stdout and stderr (the engine's structured logs), counted then discarded. */
  readonly logLines: number;
}

/** Only the fetch client trusts the fleet through the environment; undici clients get the CA explicitly. */
function clientEnv(extraCaFile: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  if (extraCaFile !== undefined) env.NODE_EXTRA_CA_CERTS = extraCaFile;
  return env;
}

/** A process that reported must exit promptly; one that does not is killed rather than waited for. */
function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function runClient(
  bundles: ClientBundles,
  kind: BundledKind,
  job: Omit<ClientJob, 'type'>,
  timeoutMs: number,
  /** A cgroup-v1 CPU group the client joins before its job: its measured push runs under that quota. */
  cpuGroup?: string,
): Promise<ClientRun> {
  const file = bundles.files[CLIENT_SETUP[kind].bundle];
  if (file === undefined) throw new Error(`client ${kind} was not bundled (bundleClients' kinds)`);
  const child = track(
    fork(file, [], {
      cwd: REPO_ROOT,
      execArgv: [
        ...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]),
        ...(sourceMaps ? ['--enable-source-maps'] : []),
      ],
      env: clientEnv(kind === 'fetch' ? bundles.caFile : undefined),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  if (cpuGroup !== undefined) writeFileSync(join(cpuGroup, 'cgroup.procs'), String(child.pid));
  let logLines = 0;
  let lastError = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 0x0a) logLines += 1;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 0x0a) logLines += 1;
    lastError = chunk.toString('utf8').slice(-500);
  });
  try {
    await nextMessage<ClientMessage, true>(child, `client ${kind}`, 30_000, (message) =>
      message.type === 'ready' ? true : undefined,
    );
    const answer = nextMessage<ClientMessage, ClientReport>(child, `client ${kind}`, timeoutMs, (message) => {
      if (message.type === 'failed') throw new Error(`client ${kind} failed: ${message.message}`);
      return message.type === 'report' ? message : undefined;
    });
    const { dispatcher } = CLIENT_SETUP[kind];
    child.send({
      type: 'job',
      ...job,
      ...(dispatcher === undefined ? {} : { dispatcher }),
    } satisfies ClientJob);
    const report = await answer;
    await exited(child, 10_000);
    return { report, logLines };
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}${lastError ? `\n${lastError}` : ''}`,
    );
  }
}

/** A throwaway key pair for one bench run: shaped like the real ones, worthless anywhere else. */
export function benchSecrets(): { key: string; masterApiKey: string } {
  return {
    key: `sk_test_Bench${randomBytes(16).toString('hex')}`,
    masterApiKey: `bench-master-${randomBytes(16).toString('hex')}`,
  };
}

/** Busy CPU time of the whole machine so far, all cores, in seconds (/proc/stat; zero elsewhere). */
export function machineCpu(): { busy: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((sum, value) => sum + value, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    // USER_HZ is 100 on Linux.
    return { busy: (total - idle) / 100 };
  } catch {
    return { busy: 0 };
  }
}
