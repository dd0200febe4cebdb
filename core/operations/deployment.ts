/**
 * Naming a deployment by its stack: the values an operator left out filled from the stack's outputs. A value
 * given wins over the output, and an output over the environment (left in a shell, it may describe another
 * deployment): with a stack, the environment is never read for a value the stack should give.
 *
 * A stack gives them one of two ways: the repository's own stack has one output per value (STACK_OUTPUTS);
 * every `StripeKeyRotation`, in any app's stack, emits a descriptor output (STACK_DESCRIPTOR) holding them
 * all, so a stack holding several constructs has several descriptors, told apart by construct id.
 */
import { SETTINGS, STACK_DESCRIPTOR, STACK_OUTPUTS } from '../contract.js';
import { ConfigurationError } from '../errors.js';
import type { StackOutputsReader } from './ports.js';

type DescriptorField = keyof typeof STACK_OUTPUTS;

/** One construct's deployment as its descriptor output records it. */
export interface DeploymentDescriptor {
  /** The output key holding it. */
  readonly output: string;
  /** The construct's path in its app (`Stack/Scope/Id`). */
  readonly id: string;
  /** Its values, keyed by the STACK_OUTPUTS name each stands for. */
  readonly outputs: ReadonlyMap<string, string>;
}

/** The longest construct path shown or matched; CloudFormation caps the whole value at 4096 characters. */
const MAX_ID = 1024;
/** Printable, no control characters: a construct path as CDK allows it. */
const ID_PATTERN = /^[^\p{Cc}]+$/u;

/**
 * The descriptor in output `output`, checked: JSON, the version this CLI reads, the construct path and a
 * non-empty string for every field. Problems name the output and the field, never a value (an output may
 * hold anything, a key pasted by mistake too).
 */
export function parseDescriptor(output: string, raw: string): DeploymentDescriptor {
  const refuse = (problem: string) =>
    new ConfigurationError(`The stack output ${output} is not a stripe-key-rotator descriptor: ${problem}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw refuse(`its value is not JSON (${raw.length} characters)`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw refuse('its value is not a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  if (record.v !== STACK_DESCRIPTOR.version) {
    throw refuse(
      `version ${typeof record.v === 'number' ? record.v : 'missing'}, this CLI reads version ${STACK_DESCRIPTOR.version} (upgrade the CLI, or give the flags)`,
    );
  }
  const id = record.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID || !ID_PATTERN.test(id)) {
    throw refuse(`"id" must be the construct path (1–${MAX_ID} printable characters)`);
  }
  const problems: string[] = [];
  const outputs = new Map<string, string>();
  for (const [field, name] of Object.entries(STACK_OUTPUTS) as [DescriptorField, string][]) {
    const value = record[field];
    if (typeof value !== 'string' || value.trim() === '')
      problems.push(`"${field}" must be a non-empty string`);
    else if (field === 'keyMode' && !(SETTINGS.keyMode.allowed as readonly string[]).includes(value)) {
      problems.push(`"keyMode" must be ${SETTINGS.keyMode.allowed.join(' or ')}`);
    } else outputs.set(name, value.trim());
  }
  if (problems.length > 0) {
    throw new ConfigurationError(
      `The stack output ${output} (construct ${id}) is not a stripe-key-rotator descriptor:`,
      { problems },
    );
  }
  return { output, id, outputs };
}

/** Every descriptor among a stack's outputs, checked, in output-key order. */
export function stackDescriptors(outputs: ReadonlyMap<string, string>): DeploymentDescriptor[] {
  return [...outputs.keys()]
    .filter((key) => key.startsWith(STACK_DESCRIPTOR.outputPrefix))
    .sort()
    .map((key) => parseDescriptor(key, outputs.get(key) ?? ''));
}

/**
 * The descriptor `constructId` names (its path, or a trailing part of it: the construct's id), or the only
 * one when no id is given. Refuses none, several without an id, and an id matching none or several, listing
 * the construct paths found.
 */
export function selectDescriptor(
  stack: string,
  descriptors: readonly DeploymentDescriptor[],
  constructId: string | undefined,
): DeploymentDescriptor {
  const ids = descriptors.map((d) => d.id).join(', ');
  if (descriptors.length === 0) {
    throw new ConfigurationError(
      `--stack ${stack}: the stack has neither the outputs this CLI reads (${Object.values(STACK_OUTPUTS).join(', ')}) ` +
        `nor a ${STACK_DESCRIPTOR.outputPrefix}… output (every StripeKeyRotation construct emits one); ` +
        'is it a stripe-key-rotator stack, deployed with this version? Otherwise pass --secret-id and the settings as flags',
    );
  }
  if (constructId === undefined) {
    if (descriptors.length === 1) return descriptors[0] as DeploymentDescriptor;
    throw new ConfigurationError(
      `--stack ${stack}: the stack holds ${descriptors.length} StripeKeyRotation constructs (${ids}); ` +
        'pass --construct-id with one of them',
    );
  }
  const matching = descriptors.filter((d) => d.id === constructId || d.id.endsWith(`/${constructId}`));
  if (matching.length === 1) return matching[0] as DeploymentDescriptor;
  throw new ConfigurationError(
    `--stack ${stack}: --construct-id ${constructId} matches ${matching.length === 0 ? 'none' : matching.length} of the stack's StripeKeyRotation constructs (${ids}); ` +
      'give a path as listed',
  );
}

/**
 * `values` with every key of `outputNames` that is unset or blank filled from the stack output it names.
 * The repository's own stack outputs are read when the stack has any of them and no `constructId` is given;
 * otherwise the construct's descriptor (selectDescriptor). Throws ConfigurationError when the stack has
 * neither (not a stack of this project), or when one is missing and no value was given for it: the caller
 * must then not fill the gap from the environment, so the error names the missing outputs and the options
 * (`--key`) that can supply them.
 */
export async function fillFromStackOutputs<
  K extends string,
  V extends { readonly [P in K]?: string | undefined },
>(
  stack: string,
  values: V,
  outputNames: Readonly<Record<K, string>>,
  reader: StackOutputsReader,
  constructId?: string,
): Promise<V> {
  const stackOutputs = await reader.read(stack);
  const named = (Object.values(outputNames) as string[]).some((output) => stackOutputs.has(output));
  const outputs =
    named && constructId === undefined
      ? stackOutputs
      : selectDescriptor(stack, stackDescriptors(stackOutputs), constructId).outputs;
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
