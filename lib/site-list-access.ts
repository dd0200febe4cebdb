/**
 * Read access to the site list, written once for every reader (the rotation function, the operators):
 * `GetParameter` on the one parameter, or `GetParametersByPath` on the path, and a customer managed key's
 * `Decrypt` only through SSM and only for that parameter or path.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { SiteListChoice } from './site-list.js';

/** The statements that let a principal read the site list; `sidPrefix` keeps sids unique per policy. */
export function siteListReadStatements(
  scope: Construct,
  siteList: SiteListChoice,
  sitesParameterName: string,
  sidPrefix = '',
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const parameterArn = (name: string) =>
    stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
  const statements: iam.PolicyStatement[] = [];
  if (siteList.kind === 'path') {
    // GetParametersByPath is authorized against the requested path only; both spellings of it.
    const path = siteList.parameter;
    statements.push(
      new iam.PolicyStatement({
        sid: `${sidPrefix}ReadSiteListPath`,
        actions: ['ssm:GetParametersByPath'],
        resources: [parameterArn(path.replace(/\/$/, '')), parameterArn(path)],
      }),
    );
  } else {
    statements.push(
      new iam.PolicyStatement({
        sid: `${sidPrefix}ReadSiteList`,
        actions: ['ssm:GetParameter'],
        resources: [parameterArn(sitesParameterName)],
      }),
    );
  }
  if (siteList.kind !== 'new' && siteList.decryptionKey !== undefined) {
    const via = { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` };
    const parameter = parameterArn(siteList.parameter);
    statements.push(
      new iam.PolicyStatement({
        sid: `${sidPrefix}DecryptSiteList`,
        actions: ['kms:Decrypt'],
        resources: [siteList.decryptionKey.keyArn],
        conditions:
          siteList.kind === 'path'
            ? { StringEquals: via, StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': `${parameter}*` } }
            : { StringEquals: { ...via, 'kms:EncryptionContext:PARAMETER_ARN': parameter } },
      }),
    );
  }
  return statements;
}
