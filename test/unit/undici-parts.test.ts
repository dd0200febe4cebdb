import * as undici from 'undici';
import dispatcherRequest from 'undici/lib/api/api-request.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from '../../lambda/undici-parts.js';

describe('the undici parts the rotation function loads from undici internals', () => {
  it('are the very objects undici exports publicly (an upgrade that moves them fails here)', () => {
    expect(Agent).toBe(undici.Agent);
    expect(dispatcherRequest).toBe(undici.Dispatcher.prototype.request);
  });

  describe('request', () => {
    const mock = new undici.MockAgent();
    mock.disableNetConnect();
    afterEach(() => mock.assertNoPendingInterceptors());

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
  });
});
