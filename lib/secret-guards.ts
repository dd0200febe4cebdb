/**
 * The resource-policy guards of the secrets this construct owns (rotated-secret-policy.ts), as the construct
 * applies them: only to secrets it created (an adopted secret's policy is its owner's, and synthesis says
 * what that leaves open), with the principals the `grant*` methods name let through.
 */
import { Annotations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import {
  operatorArnProblem,
  principalArnOf,
  RotatedSecretGuard,
  StagedSecretGuard,
} from './rotated-secret-policy.js';

export interface SecretGuardsProps {
  /** The secrets in service; guarded only when `adopted` says this construct created them. */
  readonly rotatedSecret: secretsmanager.ISecret;
  readonly stagedKeySecret: secretsmanager.ISecret;
  readonly adopted: { readonly rotatedSecret: boolean; readonly stagedKeySecret: boolean };
  readonly rotationRoleArn: string;
  readonly functionArn: string;
  /** `aws:PrincipalArn` values of `operatorPrincipals`. */
  readonly operatorArns: readonly string[];
}

export class SecretGuards {
  /** The rotated secret's write and rotate guards; undefined for an adopted rotated secret. */
  readonly #rotated?: RotatedSecretGuard;
  /** The staged secret's read guard; undefined for an adopted staged secret. */
  readonly #staged?: StagedSecretGuard;

  /** Adds the guards to the secrets' policies; warnings and the live-mode check are on `scope`. */
  constructor(
    private readonly scope: Construct,
    props: SecretGuardsProps,
  ) {
    const { rotatedSecret, stagedKeySecret, operatorArns } = props;
    if (!props.adopted.rotatedSecret && rotatedSecret instanceof secretsmanager.Secret) {
      this.#rotated = new RotatedSecretGuard(rotatedSecret, {
        rotationRoleArn: props.rotationRoleArn,
        functionArn: props.functionArn,
        operatorArns,
      });
    } else if (operatorArns.length > 0) {
      Annotations.of(scope).addWarningV2(
        'stripe-key-rotator:operators-without-policy',
        'operatorPrincipals has no effect: the rotated secret was adopted, and its resource policy belongs to its owner',
      );
    }
    if (!props.adopted.stagedKeySecret && stagedKeySecret instanceof secretsmanager.Secret) {
      this.#staged = new StagedSecretGuard(stagedKeySecret, {
        rotationRoleArn: props.rotationRoleArn,
        readerArns: operatorArns,
      });
    } else {
      Annotations.of(scope).addWarningV2(
        'stripe-key-rotator:staged-secret-without-policy',
        'stagedKeySecret was adopted, and its resource policy belongs to its owner: after a rotation its AWSPREVIOUS ' +
          'holds the key in service, readable by whoever IAM lets read it. Add a Deny of secretsmanager:GetSecretValue ' +
          'for every aws:PrincipalArn but the rotation role, the stagers and the operators (README, "Access for people and workloads")',
      );
    }
  }

  /** Lets a role or user grantee of `grantOperate` write the rotated secret; warns for any other. */
  letWrite(grantee: iam.IGrantable): void {
    const guard = this.#rotated;
    if (guard === undefined) return;
    this.letThrough(grantee, (arn) => guard.allowWriter(arn), {
      warning: 'stripe-key-rotator:operator-not-let-through',
      grant: 'grantOperate',
      stillDenied:
        "rotated secret's resource policy still denies it UpdateSecretVersionStage (the CLI's abort)",
    });
  }

  /** Lets a role or user grantee of `grant` read the staged secret; warns for any other. */
  letReadStaged(grantee: iam.IGrantable, grant: string): void {
    const guard = this.#staged;
    if (guard === undefined) return;
    this.letThrough(grantee, (arn) => guard.allowReader(arn), {
      warning: `stripe-key-rotator:${grant}:staged-reader-not-let-through`,
      grant,
      stillDenied: "staged secret's resource policy still denies it GetSecretValue",
    });
  }

  /**
   * A live rotation needs someone who can clear a stuck one: the rotated secret's policy denies every person
   * the writes of the CLI's abort unless named. Test mode only warns. Read at synthesis, so that
   * grantOperate() after the constructor counts.
   */
  operatorProblems(keyMode: string): string[] {
    if (this.#rotated === undefined || this.#rotated.hasOperators) return [];
    const message =
      'no operator may write the rotated secret: its resource policy denies every person PutSecretValue and ' +
      "UpdateSecretVersionStage, so nobody could run the CLI's abort on a stuck rotation. Name the operators' " +
      'roles or users in operatorPrincipals (cdk.json: "environments": {"<name>": {"operatorPrincipals": ' +
      '["arn:aws:iam::<account>:role/<operators>"]}}; construct prop operatorPrincipals), or call grantOperate(role)';
    if (keyMode === 'live') return [`operatorPrincipals is required for a live rotation: ${message}`];
    Annotations.of(this.scope).addWarningV2('stripe-key-rotator:no-operators', message);
    return [];
  }

  /**
   * A guard matches `aws:PrincipalArn`, which only a role or a user carries: anything else (a group) cannot be
   * let through, and synthesis says so.
   */
  private letThrough(
    grantee: iam.IGrantable,
    allow: (arn: string) => void,
    notice: { readonly warning: string; readonly grant: string; readonly stillDenied: string },
  ): void {
    const arn = principalArnOf(grantee.grantPrincipal);
    if (arn !== undefined && operatorArnProblem(arn) === undefined) {
      allow(arn);
    } else {
      Annotations.of(this.scope).addWarningV2(
        notice.warning,
        `${notice.grant}(${grantee.grantPrincipal}): not a role or a user, so the ${notice.stillDenied}: ` +
          'name its roles or users in operatorPrincipals',
      );
    }
  }
}
