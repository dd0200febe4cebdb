/**
 * `npm run bench:smoke`: the benchmark's machinery end to end at N=50 (fleet process, bundled clients, IPC,
 * the CLI's `push` as a process), asserting only that every site confirmed, for every client: as the client
 * reported it and as the sites store it. No timing is judged. It needs nothing but the product's install, so
 * CI runs it without the bench package's own: the undici clients and the aiohttp peer are left to
 * `npm run bench`. Exits non-zero on any failure; bounded to 60 s whatever happens.
 */
import { fingerprint } from '../core/index.js';
import { runCliPush } from './process-clients.js';
import { type BundledKind, benchSecrets, bundleClients, runClient, startFleetProcess } from './processes.js';

const SITES = 50;
const CONCURRENCY = 10;
/** Not the full bench's 127.1.x.y: the two can run side by side. */
const FIRST_ADDRESS = '127.2.0.1';
const BUNDLED: readonly BundledKind[] = ['engine', 'fetch'];
const CLIENTS: readonly (BundledKind | 'cli')[] = ['engine', 'cli', 'fetch'];
const OVERALL_LIMIT_MS = 60_000;

async function main(): Promise<number> {
  const started = performance.now();
  const secrets = benchSecrets();
  const fleet = await startFleetProcess({
    size: SITES,
    firstAddress: FIRST_ADDRESS,
    masterApiKey: secrets.masterApiKey,
  });
  const bundles = await bundleClients(fleet.caPem, BUNDLED);
  const problems: string[] = [];
  for (const kind of CLIENTS) {
    await fleet.reset();
    const job = {
      urls: fleet.urls,
      concurrency: CONCURRENCY,
      key: secrets.key,
      masterApiKey: secrets.masterApiKey,
      caPem: fleet.caPem,
    };
    const { report } =
      kind === 'cli'
        ? await runCliPush({ ...job, caFile: bundles.caFile }, 30_000)
        : await runClient(bundles, kind, job, 30_000);
    const { holding } = await fleet.holding(SITES, fingerprint(secrets.key));
    const line =
      `${kind}: ${report.confirmed}/${SITES} confirmed, ${holding}/${SITES} sites store the key, ` +
      `${report.wallMs.toFixed(0)} ms`;
    console.error(line);
    if (report.confirmed !== SITES || holding !== SITES) {
      problems.push(`${line}; failures: ${JSON.stringify(report.failures)}`);
    }
  }
  fleet.close();
  console.error(`bench smoke: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (problems.length > 0) {
    console.error(`bench smoke FAILED: not every site confirmed\n${problems.join('\n')}`);
    return 1;
  }
  return 0;
}

setTimeout(() => {
  console.error(`bench smoke FAILED: still running after ${OVERALL_LIMIT_MS} ms`);
  process.exit(1);
}, OVERALL_LIMIT_MS).unref();

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('bench smoke FAILED:', error);
    process.exit(1);
  },
);
