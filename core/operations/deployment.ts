/**
 * Naming a deployment by its stack: the values an operator left out filled from the stack's outputs. A value
 * given wins over the output, and an output over the environment (left in a shell, it may describe another
 * deployment): with a stack, the environment is never read for a value the stack should give.
 */
import { ConfigurationError } from '../errors.js';
import type { StackOutputsReader } from './ports.js';

/**
 * `values` with every key of `outputNames` that is unset or blank filled from the stack output it names.
 * Throws ConfigurationError when the stack has none of those outputs (not a stack of this project), or
 * when one is missing and no value was given for it: the caller must then not fill the gap from the
 * environment, so the error names the missing outputs and the options (`--key`) that can supply them.
 */
export async function fillFromStackOutputs<
  K extends string,
  V extends { readonly [P in K]?: string | undefined },
>(
  stack: string,
  values: V,
  outputNames: Readonly<Record<K, string>>,
  reader: StackOutputsReader,
): Promise<V> {
  const outputs = await reader.read(stack);
  const found = (Object.entries(outputNames) as [K, string][]).filter(([, output]) => outputs.has(output));
  if (found.length === 0) {
    throw new ConfigurationError(
      `--stack ${stack}: the stack has none of the outputs this CLI reads (${Object.values(outputNames).join(', ')}); ` +
        'is it a stripe-key-rotator stack? Otherwise pass --secret-id and the settings as flags',
    );
  }
  const filled: Record<string, string | undefined> = { ...values };
  const missing: [K, string][] = [];
  for (const [key, output] of Object.entries(outputNames) as [K, string][]) {
    const given = values[key]?.trim();
    if (given) filled[key] = given;
    else if (outputs.has(output)) filled[key] = outputs.get(output);
    else missing.push([key, output]);
  }
  if (missing.length > 0) {
    throw new ConfigurationError(
      `--stack ${stack}: the stack lacks the output${missing.length === 1 ? '' : 's'} ` +
        `${missing.map(([, output]) => output).join(', ')}; pass ${missing.map(([key]) => `--${key}`).join(', ')} ` +
        '(with --stack the environment is not read: it may describe another deployment)',
    );
  }
  return filled as V;
}
