/**
 * What a full run hands to the report (report.ts) and to the targets' verdicts (targets.ts): its own module,
 * so that the report can import the verdicts without the verdicts importing the report.
 */
import type { ColdStart } from './cold-start.js';
import type { PeerCertificateCost } from './peer-certificate.js';
import type { PackageSize } from './process-clients.js';
import type { Sample } from './samples.js';

export interface ResultsInput {
  readonly machine: MachineDescription;
  readonly loadBefore: readonly number[];
  readonly loadSamples: readonly number[];
  readonly loadAfter: readonly number[];
  readonly durationS: number;
  readonly fleetSize: number;
  readonly fleetStartMs: number;
  readonly reps: number;
  readonly samples: readonly Sample[];
  readonly coldStart: ColdStart;
  /** `node bin/stripe-key-rotator.js --help`, spawn to exit. */
  readonly cliHelp: { readonly runs: number; readonly medianMs: number };
  /** CPU of the certificate object Node's host-name check is handed, per Node binary. */
  readonly peerCertificate: readonly PeerCertificateCost[];
  /** The package `npm pack` builds: the construct with its pre-built function bundle. */
  readonly packageSize: PackageSize;
  readonly peer: { readonly available: true } | { readonly available: false; readonly reason: string };
  /** The chart's file name, beside results.md. */
  readonly chartFile: string;
}

export interface MachineDescription {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly node: string;
  readonly kernel: string;
}
