/**
 * Throwaway certificate authorities for tests, demos and benchmarks: ECDSA P-256 keys from Node's WebCrypto,
 * certificates built with `@peculiar/x509`, everything returned as PEM strings. Nothing is written to disk;
 * trust the CA through a client's `ca` option (the fleet connector's, an undici `Agent({ connect: { ca } })`), never by disabling checks.
 */
import { KeyObject, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

/** PEM material a TLS server needs (`https.createServer({ cert, key })`, `server.setSecureContext`). */
export interface ServerCredentials {
  /** Leaf certificate followed by nothing else: the CA is what the client trusts. */
  readonly cert: string;
  /** PKCS#8 private key. */
  readonly key: string;
}

export interface IssueOptions {
  /** IP subject alternative names, e.g. `['127.0.0.2']`. */
  readonly ips?: readonly string[];
  readonly dnsNames?: readonly string[];
  /** Defaults: valid from one hour ago until one day from now. A past `notAfter` makes an expired certificate. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /**
   * Reuse one leaf key pair across certificates: signing is cheap, key generation is not, which matters for
   * fleets of thousands of sites.
   */
  readonly keys?: webcrypto.CryptoKeyPair;
}

export interface TestCertificateAuthority {
  /** The CA certificate to trust. */
  readonly certPem: string;
  /** Issues a server certificate signed by this CA. */
  issue(options: IssueOptions): Promise<ServerCredentials>;
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const HOUR_MS = 3_600_000;

let x509Module: Promise<typeof X509> | undefined;

/** `@peculiar/x509` resolves its algorithms through tsyringe, which needs the reflect-metadata polyfill. */
function loadX509(): Promise<typeof X509> {
  x509Module ??= import('reflect-metadata')
    .then(() => import('@peculiar/x509'))
    .then((x509) => {
      x509.cryptoProvider.set(webcrypto);
      return x509;
    });
  return x509Module;
}

/** A fresh ECDSA P-256 key pair (extractable, so the private key can be exported as PEM). */
export function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
}

const privateKeyPems = new WeakMap<webcrypto.CryptoKey, string>();

function privateKeyPem(key: webcrypto.CryptoKey): string {
  let pem = privateKeyPems.get(key);
  if (pem === undefined) {
    pem = KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
    privateKeyPems.set(key, pem);
  }
  return pem;
}

/** Creates a new self-signed CA (valid one hour ago to one day ahead). */
export async function createTestCa(
  commonName = 'stripe-key-rotator test CA',
): Promise<TestCertificateAuthority> {
  const x509 = await loadX509();
  const caKeys = await generateKeyPair();
  const name = `CN=${commonName}`;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys: caKeys,
    signingAlgorithm: ECDSA_P256,
    notBefore: new Date(Date.now() - HOUR_MS),
    notAfter: new Date(Date.now() + 24 * HOUR_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  // Shared by every leaf: building them is most of the cost of a certificate.
  const leafExtensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
  ];

  return {
    certPem: caCert.toString('pem'),
    async issue(options: IssueOptions): Promise<ServerCredentials> {
      const keys = options.keys ?? (await generateKeyPair());
      const names = [
        ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
        ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ];
      const first = names[0]?.value ?? 'test server';
      const leaf = await x509.X509CertificateGenerator.create({
        subject: `CN=${first}`,
        issuer: caCert.subject,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: ECDSA_P256,
        notBefore: options.notBefore ?? new Date(Date.now() - HOUR_MS),
        notAfter: options.notAfter ?? new Date(Date.now() + 24 * HOUR_MS),
        extensions: [...leafExtensions, new x509.SubjectAlternativeNameExtension(names)],
      });
      return { cert: leaf.toString('pem'), key: privateKeyPem(keys.privateKey) };
    },
  };
}
