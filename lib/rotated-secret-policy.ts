/**
 * The rotated secret's resource policy beyond `denyAccountRootDelete`: only the rotation function's role and
 * the operators write its versions and labels, and only this construct's function rotates it. IAM may allow
 * more (an administrator's broad policy); the resource policy's Deny wins over any Allow.
 *
 * Facts this rests on (AWS IAM User Guide, "AWS global condition context keys" and "Condition operators"):
 * - `aws:PrincipalArn` is in every request signed by an IAM principal; for a role session it holds the ARN
 *   of the role (with its path), never the `sts::…:assumed-role/…` session ARN.
 * - A negated operator (`ArnNotLike`, `ArnNotEquals`) is true when the key is missing from the request; with
 *   several values it is true when none matches.
 * - `secretsmanager:RotationLambdaARN` is present only when RotateSecret names a function: the console's
 *   "Rotate secret immediately" and the schedule omit it, so the RotateSecret Deny requires the key
 *   (`Null: false`) and only then compares.
 * CloudFormation updates the secret resource with `UpdateSecret` and the rotation schedule with
 * `RotateSecret` naming this function: neither is blocked (docs/rotation-protocol.md, "Resource policies").
 */
import { Lazy, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/** The writes the policy reserves: a new version (AWSPENDING or AWSCURRENT) and any label move. */
export const RESERVED_WRITES = ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'];

/**
 * The ARN `aws:PrincipalArn` holds for requests by `principal`: a role's or a user's ARN, or an
 * `ArnPrincipal`'s. undefined for anything a request never carries as its principal ARN (a group, an
 * account, a service).
 */
export function principalArnOf(principal: iam.IPrincipal): string | undefined {
  if ('roleArn' in principal && typeof principal.roleArn === 'string') return principal.roleArn;
  if ('userArn' in principal && typeof principal.userArn === 'string') return principal.userArn;
  if (principal instanceof iam.ArnPrincipal && !(principal instanceof iam.AccountPrincipal)) {
    return principal.arn;
  }
  return undefined;
}

/** Why `arn` cannot name an operator in `aws:PrincipalArn`, as the end of a sentence; undefined when fine. */
export function operatorArnProblem(arn: string): string | undefined {
  if (Token.isUnresolved(arn)) return undefined;
  if (/^arn:aws[a-z-]*:sts::\d{12}:assumed-role\//.test(arn)) {
    return 'is a role session: aws:PrincipalArn holds the role ARN (arn:aws:iam::<account>:role/<path><name>), name the role';
  }
  const match = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/(.+)$/.exec(arn);
  if (!match) return 'is not the ARN of an IAM role or user';
  if (/^\*+$/.test(match[2] ?? '')) return `would let every ${match[1]} of the account through`;
  return undefined;
}

/** Adds the two Deny statements to `secret`; more principals may be let through until synthesis. */
export class RotatedSecretGuard {
  readonly #writers: string[];

  constructor(
    secret: secretsmanager.Secret,
    options: {
      readonly rotationRoleArn: string;
      readonly functionArn: string;
      readonly operatorArns: readonly string[];
    },
  ) {
    this.#writers = [options.rotationRoleArn, ...options.operatorArns];
    // Read at synthesis, so that grantOperate() after the constructor still lets its grantee through.
    secret.addToResourcePolicy(
      denyAnyone('OnlyRotationAndOperatorsWriteVersions', RESERVED_WRITES, exceptPrincipals(this.#writers)),
    );
    secret.addToResourcePolicy(
      denyAnyone('RotateOnlyWithThisFunction', ['secretsmanager:RotateSecret'], {
        // Only when a function is named ("Rotate secret immediately" names none); a version or an alias
        // of this same function stays allowed.
        Null: { 'secretsmanager:RotationLambdaARN': 'false' },
        ArnNotLike: {
          'secretsmanager:RotationLambdaARN': [options.functionArn, `${options.functionArn}:*`],
        },
      }),
    );
  }

  /** Lets `arn` (a role or user ARN) write versions and labels too. */
  allowWriter(arn: string): void {
    this.#writers.push(arn);
  }

  /** Whether anyone besides the rotation role may write versions and labels (the CLI's abort needs one). */
  get hasOperators(): boolean {
    return new Set(this.#writers).size > 1;
  }
}

/**
 * The staged key secret's read guard: after a rotation finished, the function writes the nothing-staged value
 * and the key that was staged (now in service) becomes this secret's AWSPREVIOUS, readable by anyone IAM lets
 * read the secret. Only the rotation role and the principals who stage or operate may read its values.
 */
export class StagedSecretGuard {
  readonly #readers: string[];

  constructor(
    secret: secretsmanager.Secret,
    options: { readonly rotationRoleArn: string; readonly readerArns: readonly string[] },
  ) {
    this.#readers = [options.rotationRoleArn, ...options.readerArns];
    // Read at synthesis, so that grantStageKey() and grantOperate() after the constructor count too.
    secret.addToResourcePolicy(
      denyAnyone(
        'OnlyRotationStagersAndOperatorsRead',
        ['secretsmanager:GetSecretValue'],
        exceptPrincipals(this.#readers),
      ),
    );
  }

  /** Lets `arn` (a role or user ARN) read the staged secret's values too. */
  allowReader(arn: string): void {
    this.#readers.push(arn);
  }
}

/** A Deny of `actions` on the secret to every principal, whatever IAM allows, where `conditions` hold. */
function denyAnyone(
  sid: string,
  actions: string[],
  conditions: Record<string, unknown>,
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions,
    resources: ['*'],
    conditions,
  });
}

/** Every principal but those in `arns`, as the list stands at synthesis (the grants may add to it). */
function exceptPrincipals(arns: readonly string[]): Record<string, unknown> {
  return { ArnNotLike: { 'aws:PrincipalArn': Lazy.list({ produce: () => [...new Set(arns)] }) } };
}
