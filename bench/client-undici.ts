/**
 * Bare baseline (c): `undici.request` in a loop with C workers — no retries, no timeouts beyond the defaults,
 * no bookkeeping — through a default `Agent` trusting the fleet's CA. With `job.dispatcher === 'fleet'` it
 * goes through `createFleetDispatcher` instead: the engine's own connection handling without the engine,
 * which separates what the engine adds from what undici costs.
 */
import { Agent, request } from 'undici';
import { createFleetDispatcher } from '../lambda/fleet-http.js';
import { ENDPOINT_PATH, errorCode, serveClient, workerPool } from './client-harness.js';

serveClient(async (job) => {
  const dispatcher =
    job.dispatcher === 'fleet'
      ? createFleetDispatcher({ ca: job.caPem })
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
