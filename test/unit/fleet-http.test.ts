import { describe, expect, it } from 'vitest';
import { endpointUrl, FleetConnector, SITE_ENDPOINT_PATH, sitePut } from '../../core/push/fleet-http.js';

describe('the endpoint URL of a site', () => {
  it('appends the template path to an origin or a site path', () => {
    expect(endpointUrl('https://shop.example.fr')).toBe(`https://shop.example.fr${SITE_ENDPOINT_PATH}`);
    expect(endpointUrl('https://shop.example.fr/')).toBe(`https://shop.example.fr${SITE_ENDPOINT_PATH}`);
    expect(endpointUrl('https://example.fr/shop/')).toBe(`https://example.fr/shop${SITE_ENDPOINT_PATH}`);
  });

  it('refuses anything but a plain https URL', () => {
    for (const site of ['http://shop.example.fr', 'ftp://x', 'not a url', 'https://x.example/?a=1', '']) {
      expect(endpointUrl(site)).toBeUndefined();
    }
  });
});

describe("one push's request", () => {
  it('refuses a header value that could split the request, naming the header but never the value', () => {
    const master = 'master-key\r\nx-injected: 1';
    let message = '';
    try {
      sitePut({ connector: new FleetConnector(), key: 'sk_test_abc', masterApiKey: master, timeoutMs: 1000 });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('The x-api-key header value is not valid in HTTP');
  });

  it('announces the exact body length and asks the site to close the connection', () => {
    const put = sitePut({
      connector: new FleetConnector(),
      key: 'sk_test_é',
      masterApiKey: 'master',
      timeoutMs: 1000,
    });
    expect(put.payload).toBe('{"value":"sk_test_é"}');
    expect(put.headers).toMatchObject({
      'content-length': String(Buffer.byteLength(put.payload)),
      connection: 'close',
      'x-api-key': 'master',
    });
  });
});
