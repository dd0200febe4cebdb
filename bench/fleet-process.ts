/**
 * The simulated template fleet in a process of its own, so that its CPU and memory never count against a
 * measured client. Driven over IPC by the orchestrator (`run.ts`, `smoke.ts`): start once, then change the
 * reply latency, reset and count confirmed sites between cases without restarting thousands of servers.
 * Exits by itself when the orchestrator goes away, or after a hard lifetime.
 */
import { fingerprint } from '../core/index.js';
import { startTemplateFleet, type TemplateFleet } from '../sim/template-fleet.js';
import type { FleetCommand, FleetReply } from './protocol.js';

/** A bound on the process's life whatever happens to the orchestrator (the full bench takes ~10 min). */
const MAX_LIFETIME_MS = 20 * 60_000;

let fleet: TemplateFleet | undefined;

function send(reply: FleetReply): void {
  process.send?.(reply);
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function requireFleet(): TemplateFleet {
  if (fleet === undefined) throw new Error('the fleet was not started yet');
  return fleet;
}

async function handle(command: FleetCommand): Promise<void> {
  switch (command.type) {
    case 'start': {
      const started = performance.now();
      fleet = await startTemplateFleet({
        size: command.size,
        masterApiKey: command.masterApiKey,
        firstAddress: command.firstAddress,
        port: command.port,
        latencyMs: command.latencyMs,
        recordRequests: false,
      });
      send({ type: 'ready', caPem: fleet.caPem, urls: fleet.urls, startMs: performance.now() - started });
      return;
    }
    case 'latency':
      for (const site of requireFleet().sites) site.latencyMs = command.latencyMs;
      send({ type: 'done', id: command.id, cpuMs: cpuMs() });
      return;
    case 'reset': {
      const current = requireFleet();
      current.resetStats();
      for (const site of current.sites) site.storedKey = undefined;
      send({ type: 'done', id: command.id, cpuMs: cpuMs() });
      return;
    }
    case 'count': {
      const current = requireFleet();
      const holding = current.sites
        .slice(0, command.first)
        .filter(
          (site) => site.storedKey !== undefined && fingerprint(site.storedKey) === command.keyFingerprint,
        ).length;
      send({ type: 'done', id: command.id, cpuMs: cpuMs(), holding, requests: current.requestCount });
      return;
    }
  }
}

if (process.send === undefined) {
  console.error(
    'bench/fleet-process.ts is started by bench/run.ts or bench/smoke.ts (it needs an IPC channel)',
  );
  process.exit(2);
}
process.on('message', (command: FleetCommand) => {
  handle(command).catch((error: unknown) => {
    send({
      type: 'failed',
      message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    process.exit(1);
  });
});
// The orchestrator died or is done: nothing else will ever talk to this fleet.
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();
