import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import * as undici from 'undici';
import dispatcherApi from 'undici/lib/api/index.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from '../../lambda/undici-parts.js';

const DISPATCHER_METHODS = ['request', 'stream', 'pipeline', 'upgrade', 'connect'] as const;

describe('the undici parts the rotation function loads from undici internals', () => {
  it('are the very objects undici exports publicly (an upgrade that moves them fails here)', () => {
    expect(Agent).toBe(undici.Agent);
    expect(DispatcherClass).toBe(undici.Dispatcher);
    for (const method of DISPATCHER_METHODS) {
      expect(dispatcherApi[method], method).toBe(undici.Dispatcher.prototype[method]);
    }
  });

  it("bundled alone, as in the Lambda, leave out undici's index and still give every dispatcher its methods", async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'skr-undici-parts-'));
    try {
      const bundled = await build({
        entryPoints: [join(import.meta.dirname, '../../lambda/undici-parts.ts')],
        bundle: true,
        format: 'cjs',
        platform: 'node',
        target: 'node20',
        write: false,
        metafile: true,
        logLevel: 'error',
      });
      expect(Object.keys(bundled.metafile.inputs)).not.toContain('node_modules/undici/index.js');
      const file = join(scratch, 'parts.cjs');
      writeFileSync(file, bundled.outputFiles[0]?.text ?? '');
      // A copy of undici of its own: nothing here has seen undici's index.
      const parts = createRequire(file)(file) as { Agent: typeof undici.Agent };
      expect(parts.Agent).not.toBe(undici.Agent);
      const agent = new parts.Agent();
      for (const method of DISPATCHER_METHODS) expect(typeof agent[method], method).toBe('function');
      await agent.close();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  describe('request', () => {
    const mock = new undici.MockAgent();
    mock.disableNetConnect();
    afterEach(() => mock.assertNoPendingInterceptors());
    afterAll(() => mock.close());

    it('sends method, path, query, headers and body of the URL to the given dispatcher', async () => {
      mock
        .get('https://site.example')
        .intercept({
          path: '/shop/api/export?x=1',
          method: 'PUT',
          headers: { 'x-api-key': 'master' },
          body: '{"value":"v"}',
        })
        .reply(200, { success: true });

      const response = await request('https://site.example/shop/api/export?x=1', {
        method: 'PUT',
        dispatcher: mock,
        headers: { 'x-api-key': 'master' },
        body: '{"value":"v"}',
      });

      expect(response.statusCode).toBe(200);
      expect(await response.body.json()).toEqual({ success: true });
    });

    it('rejects, never throws, on a URL it cannot use', async () => {
      // A synchronous throw would fail on this line, outside the promise.
      const pending = request('not a url', { method: 'GET', dispatcher: mock });
      await expect(pending).rejects.toThrow(TypeError);
    });
  });
});
