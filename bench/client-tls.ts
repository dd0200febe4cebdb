/**
 * The floor, not a candidate: what any Node HTTPS client pays per site on this machine. A bare `tls.connect`
 * per site with one shared TLS context (certificate and host name verified as usual), one hand-written
 * HTTP/1.1 PUT with `connection: close`, the answer read to the end. No HTTP library, no timeouts, no
 * retries: the engine can only be compared with it, never replaced by it.
 */
import { connect, createSecureContext } from 'node:tls';
import { ENDPOINT_PATH, serveClient, workerPool } from './client-harness.js';

serveClient(async (job) => {
  const secureContext = createSecureContext({ ca: job.caPem });
  const body = JSON.stringify({ value: job.key });
  const put = (url: string): Promise<string> =>
    new Promise((resolve) => {
      const { hostname, host, port } = new URL(url);
      const socket = connect(
        { host: hostname, port: Number(port), secureContext, ALPNProtocols: ['http/1.1'] },
        () => {
          socket.write(
            `PUT ${ENDPOINT_PATH} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
              `x-api-key: ${job.masterApiKey}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
              `connection: close\r\n\r\n${body}`,
          );
        },
      );
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        answer += chunk;
      });
      socket.once('end', () => {
        resolve(
          answer.startsWith('HTTP/1.1 200') && answer.includes('"secret_saved"') ? 'confirmed' : 'unexpected',
        );
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.name));
    });
  return () => workerPool(job.urls, job.concurrency, put);
});
