/**
 * The site list read from SSM Parameter Store: one parameter (String, StringList or SecureString), or for
 * large fleets every parameter under a path ending in `/`, sorted by name and parsed together.
 */
import {
  GetParameterCommand,
  type Parameter,
  paginateGetParametersByPath,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { SiteList, SiteListSource } from '../../core/index.js';
import {
  ConfigurationError,
  MAX_SITES,
  parseSiteList,
  type SiteListInput,
  sitesParameterProblem,
} from '../../core/index.js';

/** GetParametersByPath pages hold at most 10 parameters, yet may be empty: bound the loop, not the pages. */
export const MAX_PAGES = 1000;

export interface SsmSiteListSourceOptions {
  readonly client: SSMClient;
  /** A parameter name (`/stripe/sites`), or a path ending in `/` whose parameters are all read. */
  readonly parameter: string;
}

export class SsmSiteListSource implements SiteListSource {
  readonly #client: SSMClient;
  readonly #parameter: string;

  constructor(options: SsmSiteListSourceOptions) {
    const problem = sitesParameterProblem(options.parameter);
    if (problem !== undefined) {
      throw new ConfigurationError(
        `The site list parameter name ${JSON.stringify(options.parameter)} ${problem}`,
      );
    }
    this.#client = options.client;
    this.#parameter = options.parameter;
  }

  async load(): Promise<SiteList> {
    const inputs = this.#parameter.endsWith('/') ? await this.#readPath() : [await this.#readOne()];
    return parseSiteList(inputs);
  }

  async #readOne(): Promise<SiteListInput> {
    const name = this.#parameter;
    try {
      const { Parameter } = await this.#client.send(
        new GetParameterCommand({ Name: name, WithDecryption: true }),
      );
      return toInput(name, Parameter);
    } catch (error) {
      if (error instanceof Error && error.name === 'ParameterNotFound') {
        throw new ConfigurationError(
          `The site list parameter ${name} does not exist (ParameterNotFound): create it (String, StringList ` +
            'or SecureString, one https URL per line) or fix the configured parameter name.',
          { cause: error },
        );
      }
      throw readFailure(name, error);
    }
  }

  async #readPath(): Promise<SiteListInput[]> {
    const path = this.#parameter;
    const found: Parameter[] = [];
    let pages = 0;
    let unfinished = false;
    try {
      for await (const page of paginateGetParametersByPath(
        { client: this.#client },
        { Path: path, Recursive: true, WithDecryption: true },
      )) {
        found.push(...(page.Parameters ?? []));
        pages += 1;
        if (page.NextToken && pages >= MAX_PAGES) {
          unfinished = true;
          break;
        }
      }
    } catch (error) {
      throw readFailure(path, error);
    }
    if (!unfinished) return sortedInputs(path, found);
    throw new ConfigurationError(
      `Listing the site list parameters under ${path} did not finish after ${MAX_PAGES} pages; keep the ` +
        `fleet (at most ${MAX_SITES} sites) in fewer parameters under that path.`,
    );
  }
}

function sortedInputs(path: string, parameters: readonly Parameter[]): SiteListInput[] {
  if (parameters.length === 0) {
    throw new ConfigurationError(
      `No parameter found under the site list path ${path} (searched recursively): create at least one ` +
        `parameter below it, e.g. ${path}sites (String, StringList or SecureString, one https URL per line).`,
    );
  }
  return parameters
    .map((parameter) => toInput(parameter.Name ?? path, parameter))
    .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
}

function toInput(name: string, parameter: Parameter | undefined): SiteListInput {
  return {
    source: name,
    text: parameter?.Value ?? '',
    itemSeparator: parameter?.Type === 'StringList' ? 'comma' : 'line',
  };
}

/** SDK errors (access denied, throttling, KMS) name the parameter; the original stays as `cause`. */
function readFailure(name: string, error: unknown): Error {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new Error(`Reading the site list from SSM parameter ${name} failed: ${what}`, { cause: error });
}
