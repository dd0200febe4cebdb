/**
 * Bare baseline (b): Node's global `fetch` in a loop with C workers — no retries, no timeouts beyond the
 * defaults, no bookkeeping. The fleet's CA is trusted through NODE_EXTRA_CA_CERTS, set by the orchestrator.
 */
import { ENDPOINT_PATH, errorCode, serveClient, workerPool } from './client-harness.js';

serveClient(async (job) => {
  const headers = { 'content-type': 'application/json', 'x-api-key': job.masterApiKey };
  const body = JSON.stringify({ value: job.key });
  return () =>
    workerPool(job.urls, job.concurrency, async (url) => {
      try {
        const response = await fetch(`${url}${ENDPOINT_PATH}`, { method: 'PUT', headers, body });
        const answer = (await response.json()) as { message?: unknown };
        return response.status === 200 && answer.message === 'secret_saved'
          ? 'confirmed'
          : `http_${response.status}`;
      } catch (error) {
        return errorCode(error);
      }
    });
});
