/**
 * Bare baseline (c): `undici.request` in a loop with C workers — no retries, no timeouts beyond the defaults,
 * no bookkeeping — through a default `Agent` trusting the fleet's CA. With `job.dispatcher === 'fleet'` it
 * goes through an Agent shaped like the fleet connector (core/push/fleet-http.ts): one shared TLS context,
 * no keep-alive, one connection per origin, no session cache. What undici costs at its leanest, beside
 * the engine's own client. undici is the bench package's own dependency (bench/package.json).
 */
import { createSecureContext } from 'node:tls';
import { Agent, request } from 'undici';
import { ENDPOINT_PATH, errorCode, serveClient, workerPool } from './client-harness.js';

serveClient(async (job) => {
  const dispatcher =
    job.dispatcher === 'fleet'
      ? new Agent({
          connections: 1,
          pipelining: 0,
          connect: { secureContext: createSecureContext({ ca: job.caPem }), maxCachedSessions: 0 },
        })
      : new Agent({ connect: { ca: job.caPem } });
  const headers = { 'content-type': 'application/json', 'x-api-key': job.masterApiKey };
  const body = JSON.stringify({ value: job.key });
  return () =>
    workerPool(job.urls, job.concurrency, async (url) => {
      try {
        const response = await request(`${url}${ENDPOINT_PATH}`, {
          method: 'PUT',
          headers,
          body,
          dispatcher,
        });
        const answer = (await response.body.json()) as { message?: unknown };
        return response.statusCode === 200 && answer.message === 'secret_saved'
          ? 'confirmed'
          : `http_${response.statusCode}`;
      } catch (error) {
        return errorCode(error);
      }
    });
});
