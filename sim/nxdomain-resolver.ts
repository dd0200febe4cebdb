/**
 * A stand-in for the machine's resolver, loaded with `--import` into a child process that pushes to hosts
 * that never resolve (test/integration/cli-push-exit.test.ts, bench/unresolvable.ts): every host-name
 * lookup in that process is answered ENOTFOUND, as a resolver answers NXDOMAIN, so none leaves the machine.
 * Answers come the way getaddrinfo's do on libuv's thread pool: four lookups at a time, each after
 * SIM_RESOLVER_ANSWER_MS (default 0), and a lookup waiting for its answer keeps the process alive; a client
 * that leaves lookups behind lingers as it would with a real resolver. On exit it writes how many lookups it
 * answered to stderr (RESOLVER_REPORT_PREFIX; the module exports nothing, as importing it is what
 * replaces the resolver), so a run can tell the stand-in was used.
 *
 * Both doors are replaced: `dns.lookup` on the module object, which net reads when a connect has no `lookup`
 * of its own, and the ES module binding (`syncBuiltinESMExports`), which the fleet connector's lookup queue
 * imports.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { writeSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const RESOLVER_REPORT_PREFIX = 'sim resolver: lookups answered ENOTFOUND:';

/** getaddrinfo's threads in libuv's default pool. */
const THREADS = 4;
const answerMs = Number(process.env.SIM_RESOLVER_ANSWER_MS ?? 0);
const waiting: (() => void)[] = [];
let busy = 0;
let answered = 0;

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: dns.NOTFOUND,
    syscall: 'getaddrinfo',
    hostname,
  });
}

function start(job: () => void): void {
  busy += 1;
  setTimeout(() => {
    busy -= 1;
    answered += 1;
    job();
    const next = waiting.shift();
    if (next !== undefined) start(next);
  }, answerMs);
}

type Answer = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

function lookup(hostname: string, options: LookupOptions | number | Answer, callback?: Answer): void {
  const answer = typeof options === 'function' ? options : callback;
  const job = (): void => answer?.(notFound(hostname), '', 0);
  if (busy < THREADS) start(job);
  else waiting.push(job);
}

dns.lookup = lookup as typeof dns.lookup;
dns.promises.lookup = ((hostname: string) =>
  new Promise((_, reject) => lookup(hostname, {}, (error) => reject(error)))) as typeof dns.promises.lookup;
syncBuiltinESMExports();
process.on('exit', () => {
  writeSync(2, `${RESOLVER_REPORT_PREFIX} ${answered}\n`);
});
