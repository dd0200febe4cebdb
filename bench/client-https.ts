/**
 * Bare baseline: Node's own `http.request` (llhttp, in C) over one `tls.connect` per site with one shared TLS
 * context, no Agent (the connection closes after the answer): the HTTP client the engine uses
 * (core/push/fleet-http.ts), without the engine — no canary, timeouts, classification, log or ledger.
 */
import { request } from 'node:http';
import { connect, createSecureContext } from 'node:tls';
import { ENDPOINT_PATH, errorCode, serveClient, workerPool } from './client-harness.js';

serveClient(async (job) => {
  const secureContext = createSecureContext({ ca: job.caPem });
  const body = JSON.stringify({ value: job.key });
  const headers = {
    'content-type': 'application/json',
    'x-api-key': job.masterApiKey,
    'content-length': String(Buffer.byteLength(body)),
  };
  const put = (url: string): Promise<string> =>
    new Promise((resolve) => {
      const { hostname, port } = new URL(url);
      const req = request(
        {
          host: hostname,
          port: Number(port),
          path: ENDPOINT_PATH,
          method: 'PUT',
          headers,
          createConnection: () =>
            connect({ host: hostname, port: Number(port), secureContext, ALPNProtocols: ['http/1.1'] }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const answer = Buffer.concat(chunks).toString('utf8');
            resolve(
              res.statusCode === 200 && answer.includes('"secret_saved"')
                ? 'confirmed'
                : `http_${res.statusCode}`,
            );
          });
        },
      );
      req.on('error', (error) => resolve(errorCode(error)));
      req.end(body);
    });
  return () => workerPool(job.urls, job.concurrency, put);
});
