import { describe, expect, it } from 'vitest';
import { endpointUrl, SITE_ENDPOINT_PATH } from '../../lambda/fleet-http.js';

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
