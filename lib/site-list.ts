/**
 * Where the rotation reads its fleet: a new SSM parameter this construct creates, an existing parameter
 * by name, or every parameter under an existing path (for fleets beyond one parameter's 4 KB).
 */
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { ConfigurationError } from '../lambda/errors.js';

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

type SiteListChoice =
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
        () => parameterNameProblem(options.parameterName ?? '', 'name'),
      );
    }
    return new SiteListParameter({ kind: 'new', parameterName: options.parameterName });
  }

  /** An existing parameter (String, StringList or SecureString), e.g. `/stripe/live/sites`. */
  static fromName(name: string, options: ExistingSiteListOptions = {}): SiteListParameter {
    assertValid(`SiteListParameter.fromName(${JSON.stringify(name)})`, () =>
      parameterNameProblem(name, 'name'),
    );
    return new SiteListParameter({ kind: 'name', parameter: name, decryptionKey: options.decryptionKey });
  }

  /** Every parameter under an existing path ending in `/`, e.g. `/stripe/live/sites/`, read recursively. */
  static fromPath(path: string, options: ExistingSiteListOptions = {}): SiteListParameter {
    assertValid(`SiteListParameter.fromPath(${JSON.stringify(path)})`, () =>
      parameterNameProblem(path, 'path'),
    );
    return new SiteListParameter({ kind: 'path', parameter: path, decryptionKey: options.decryptionKey });
  }

  private constructor(readonly choice: SiteListChoice) {}
}

function assertValid(call: string, check: () => string | undefined): void {
  const problem = check();
  if (problem !== undefined) throw new ConfigurationError(`siteList: ${call} ${problem}`);
}

/** The same rules the function applies to SITES_PARAMETER, caught at synth instead of at rotation time. */
export function parameterNameProblem(value: string, kind: 'name' | 'path'): string | undefined {
  if (value === '') return 'is empty';
  if (!/^[A-Za-z0-9_./-]+$/.test(value)) return 'may hold only letters, digits, _ . - and /';
  if (value.length > 1011) return 'is longer than the 1011 characters SSM allows';
  if (/^\/?(aws|ssm)/i.test(value)) return 'must not start with "aws" or "ssm" (reserved by SSM)';
  if (value.includes('//')) return 'has an empty path segment';
  if (kind === 'path') {
    if (!value.startsWith('/') || !value.endsWith('/') || value === '/') {
      return 'must start and end with / and name at least one level, e.g. /stripe/live/sites/';
    }
    return undefined;
  }
  if (value.endsWith('/')) return 'ends with /: use SiteListParameter.fromPath for a path';
  if (value.includes('/') && !value.startsWith('/')) return 'must start with / when it contains /';
  return undefined;
}
