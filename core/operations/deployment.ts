/**
 * Naming a deployment by its stack: the values an operator left out filled from the stack's outputs. A value
 * given wins over the output, and an output over the environment (left in a shell, it may describe another
 * deployment): callers fall back to the environment only for what is still unset after this.
 */
import { ConfigurationError } from '../errors.js';
import type { StackOutputsReader } from './ports.js';

/**
 * `values` with every key of `outputNames` that is unset or blank filled from the stack output it names.
 * Throws ConfigurationError when the stack has none of those outputs (not a stack of this project).
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
  for (const [key, output] of found) {
    const given = values[key]?.trim();
    filled[key] = given ? given : outputs.get(output);
  }
  return filled as V;
}
