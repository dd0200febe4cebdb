/**
 * `doctor`'s verdict shape, the facts it reads about secrets, trails and alarms, and how it reads an IAM
 * policy document (topic and key policies): which statements allow a service principal an action.
 */

/** One verdict. `ok` is null when the check could not decide (the detail says how to check by hand). */
export interface DoctorCheck {
  readonly id: string;
  readonly ok: boolean | null;
  readonly detail: string;
  /** What to do, when `ok` is not true. */
  readonly fix?: string;
}

/** The fix for anything the construct writes (policies, subscriptions' topic, the rotation schedule). */
export const REDEPLOY = 'redeploy the stack with this package (cdk deploy): the construct writes it';

export function pass(id: string, detail: string): DoctorCheck {
  return { id, ok: true, detail };
}

export function fail(id: string, detail: string, fix: string): DoctorCheck {
  return { id, ok: false, detail, fix };
}

export interface SecretFacts {
  readonly arn: string;
  readonly rotationEnabled: boolean;
  readonly rotationLambdaArn?: string;
  /** `every 30 days` or the schedule expression; undefined when none is set. */
  readonly schedule?: string;
  readonly lastRotatedAt?: Date;
  readonly lastChangedAt?: Date;
  readonly deletedAt?: Date;
  /** Labelled versions, with their creation time when known. */
  readonly versions: readonly {
    readonly id: string;
    readonly stages: readonly string[];
    readonly createdAt?: Date;
  }[];
}

export interface TrailFacts {
  readonly name: string;
  readonly homeRegion?: string;
  readonly multiRegion: boolean;
  readonly logging: boolean;
  /** It records management events (write ones at least): what the CloudTrail-delivered notices are. */
  readonly managementEvents: boolean;
}

export interface AlarmFacts {
  readonly name: string;
  /** OK, ALARM or INSUFFICIENT_DATA. */
  readonly state: string;
}

export interface PolicyStatement {
  readonly Effect?: string;
  readonly Principal?: string | { readonly Service?: string | readonly string[] };
  readonly Action?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export interface PolicyDocument {
  readonly Statement?: PolicyStatement | readonly PolicyStatement[];
}

const list = <T>(value: T | readonly T[] | undefined): readonly T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value as T];

/** The Allow statements whose principal names `service` (e.g. events.amazonaws.com). */
export function serviceStatements(policy: PolicyDocument | undefined, service: string): PolicyStatement[] {
  return list(policy?.Statement).filter(
    (statement) =>
      statement.Effect === 'Allow' &&
      typeof statement.Principal === 'object' &&
      list(statement.Principal.Service).includes(service),
  );
}

/** Whether some Allow statement lets `service` call `action` (wildcards such as `kms:GenerateDataKey*` count). */
export function allowsService(policy: PolicyDocument | undefined, service: string, action: string): boolean {
  const matches = (pattern: string) =>
    pattern === '*' ||
    pattern.toLowerCase() === action.toLowerCase() ||
    (pattern.endsWith('*') && action.toLowerCase().startsWith(pattern.slice(0, -1).toLowerCase()));
  return serviceStatements(policy, service).some((statement) => list(statement.Action).some(matches));
}

/** A policy document from its JSON text; undefined when there is none or it is not JSON. */
export function parsePolicy(text: string | undefined): PolicyDocument | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as PolicyDocument;
  } catch {
    return undefined;
  }
}
