/**
 * Where the rotation reads its fleet: a new SSM parameter this construct creates, an existing parameter
 * by name, or every parameter under an existing path (for fleets beyond one parameter's 4 KB).
 */
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { ConfigurationError, sitesParameterProblem } from '../core/index.js';

export interface ExistingSiteListOptions {
  /**
   * The customer managed key a SecureString site list is encrypted with; the function may decrypt with
   * it only through SSM and only for this parameter (or path).
   *
   * @default - the parameter is a String, or a SecureString under the AWS managed key `aws/ssm`
   */
  readonly decryptionKey?: IKey;
}

export interface NewSiteListOptions {
  /**
   * Name of the parameter to create.
   *
   * @default `/<serviceName>/sites`
   */
  readonly parameterName?: string;
}

/** What a `SiteListParameter` stands for; internal to the construct, never part of its API. */
export type SiteListChoice =
  | { readonly kind: 'new'; readonly parameterName?: string }
  | { readonly kind: 'name' | 'path'; readonly parameter: string; readonly decryptionKey?: IKey };

export class SiteListParameter {
  /**
   * A new `String` parameter holding only a comment line; an operator writes the site URLs into it.
   * (CloudFormation cannot create a SecureString; the URLs are not secret.)
   */
  static create(options: NewSiteListOptions = {}): SiteListParameter {
    if (options.parameterName !== undefined) {
      assertValid(
        `SiteListParameter.create({ parameterName: ${JSON.stringify(options.parameterName)} })`,
        () => sitesParameterProblem(options.parameterName ?? '', 'name'),
      );
    }
    return new SiteListParameter({ kind: 'new', parameterName: options.parameterName });
  }

  /** An existing parameter (String, StringList or SecureString), e.g. `/stripe/live/sites`. */
  static fromName(name: string, options: ExistingSiteListOptions = {}): SiteListParameter {
    assertValid(`SiteListParameter.fromName(${JSON.stringify(name)})`, () =>
      sitesParameterProblem(name, 'name'),
    );
    return new SiteListParameter({ kind: 'name', parameter: name, decryptionKey: options.decryptionKey });
  }

  /** Every parameter under an existing path ending in `/`, e.g. `/stripe/live/sites/`, read recursively. */
  static fromPath(path: string, options: ExistingSiteListOptions = {}): SiteListParameter {
    assertValid(`SiteListParameter.fromPath(${JSON.stringify(path)})`, () =>
      sitesParameterProblem(path, 'path'),
    );
    return new SiteListParameter({ kind: 'path', parameter: path, decryptionKey: options.decryptionKey });
  }

  private constructor(choice: SiteListChoice) {
    CHOICES.set(this, choice);
  }
}

/** Kept beside the class rather than on it, so that the published type shows no internal shape. */
const CHOICES = new WeakMap<SiteListParameter, SiteListChoice>();

/** What `siteList` stands for (every instance is made by a factory above, so one is always recorded). */
export function siteListChoice(siteList: SiteListParameter): SiteListChoice {
  const choice = CHOICES.get(siteList);
  if (choice === undefined)
    throw new ConfigurationError('siteList: use SiteListParameter.create/fromName/fromPath');
  return choice;
}

/** The function's own SITES_PARAMETER rule (core/contract.ts), applied at synth instead of at rotation time. */
function assertValid(call: string, check: () => string | undefined): void {
  const problem = check();
  if (problem !== undefined) throw new ConfigurationError(`siteList: ${call} ${problem}`);
}
