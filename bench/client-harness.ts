/**
 * What every measured client process shares: receive one job over IPC, prepare (untimed), then measure the
 * push alone — wall time, CPU (user + system) of this process, peak RSS — and report it. The process exits
 * by itself once it reported, when the orchestrator goes away, or after a hard time limit.
 */
import type { ClientJob, ClientMessage, ClientReport } from './protocol.js';

/** Generous even for the slowest case (the engine at 50,000 sites under a CPU quota, on a loaded machine). */
const CLIENT_MAX_MS = 15 * 60_000;

export interface PushTally {
  readonly confirmed: number;
  readonly failures: Readonly<Record<string, number>>;
}

/** Builds everything the push needs, then returns the push itself: only the returned function is timed. */
export type Prepare = (job: ClientJob) => Promise<() => Promise<PushTally>>;

function send(message: ClientMessage, then?: () => void): void {
  process.send?.(message, undefined, undefined, () => then?.());
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function measure(job: ClientJob, prepare: Prepare): Promise<ClientReport> {
  const push = await prepare(job);
  const rssBefore = process.memoryUsage.rss();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const tally = await push();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const whole = process.cpuUsage();
  return {
    type: 'report',
    sites: job.urls.length,
    confirmed: tally.confirmed,
    failures: tally.failures,
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    processCpuMs: (whole.user + whole.system) / 1000,
    // Decimal megabytes, the stricter reading of the targets; maxRSS is in KiB.
    peakRssMb: (process.resourceUsage().maxRSS * 1024) / 1e6,
    rssBeforeMb: rssBefore / 1e6,
  };
}

export function serveClient(prepare: Prepare): void {
  if (process.send === undefined) {
    console.error('bench clients are started by bench/run.ts or bench/smoke.ts (they need an IPC channel)');
    process.exit(2);
  }
  setTimeout(() => {
    console.error(`client gave up after ${CLIENT_MAX_MS} ms`);
    process.exit(3);
  }, CLIENT_MAX_MS).unref();
  process.on('disconnect', () => process.exit(4));
  process.once('message', (job: ClientJob) => {
    measure(job, prepare).then(
      (report) => send(report, () => process.exit(0)),
      (error: unknown) => send({ type: 'failed', message: describeError(error) }, () => process.exit(1)),
    );
  });
  send({ type: 'ready' });
}

/** Runs `task` over every item with `concurrency` workers; returns how many confirmed and why others did not. */
export async function workerPool(
  items: readonly string[],
  concurrency: number,
  task: (item: string) => Promise<string>,
): Promise<PushTally> {
  let cursor = 0;
  let confirmed = 0;
  const failures: Record<string, number> = {};
  const worker = async (): Promise<void> => {
    while (cursor < items.length) {
      const item = items[cursor++] ?? '';
      const outcome = await task(item);
      if (outcome === 'confirmed') confirmed += 1;
      else failures[outcome] = (failures[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return { confirmed, failures };
}

/** The template sites' endpoint. Bare clients define it here rather than import the engine, whose code they must not load. */
export const ENDPOINT_PATH = '/api/export/settings/stripe_secret_key';

/** The first `code` along an error's cause chain, for a failure count; never the message. */
export function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 5; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    current = cause;
  }
  return error instanceof Error ? error.name : 'error';
}
