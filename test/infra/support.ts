/**
 * Shared helpers of the infrastructure tests: apps configured exactly like `cdk synth` (cdk.json context)
 * and readers for the synthesized template.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { afterAll } from 'vitest';
import type { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';

export const ENV = { account: '123456789012', region: 'eu-west-3' } as const;

/** The operators a live rotation must name (it refuses to synthesize without one who can run abort). */
export const LIVE_OPERATOR_ARN = 'arn:aws:iam::123456789012:role/ops/on-call';
export const LIVE_OPERATORS = [new iam.ArnPrincipal(LIVE_OPERATOR_ARN)];

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

/** The feature flags and settings `cdk synth` uses, optionally overridden. */
export function cdkContext(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...cdkJson.context, ...overrides };
}

// The apps of a test file share one output directory, removed when the file is done: the asset is staged
// (copied) once per file rather than once per app.
const sharedOutdir = mkdtempSync(join(tmpdir(), 'infra-test-'));
afterAll(() => rmSync(sharedOutdir, { recursive: true, force: true }));

/** An app with cdk.json's context, deploying the pre-built handler bundle like `cdk synth`. */
export function testApp(options: { outdir?: string; context?: Record<string, unknown> } = {}): App {
  return new App({ outdir: options.outdir ?? sharedOutdir, context: cdkContext(options.context) });
}

export function testStack(app: App = testApp(), id = 'Test'): Stack {
  return new Stack(app, id, { env: ENV });
}

/** The logical id of `construct`; failing loudly when an optional member is absent. */
export function logicalId(construct: IConstruct | undefined): string {
  if (construct === undefined) throw new Error('the construct is absent');
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}

export function ref(construct: IConstruct | undefined): { Ref: string } {
  return { Ref: logicalId(construct) };
}

export function arnOf(construct: IConstruct | undefined): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [logicalId(construct), 'Arn'] };
}

/** The watchdog's three alarms, which a rotation with default props has. */
export function watchdogAlarms(rotation: StripeKeyRotation): IConstruct[] {
  const watchdog = present(rotation.watchdog);
  return [watchdog.overdueAlarm, watchdog.pendingAlarm, watchdog.disabledAlarm].map(present);
}

/** An optional member the test needs present. */
export function present<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected the member to be present');
  return value;
}

type Resource = {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string[];
  DeletionPolicy?: string;
};

export function resources(template: Template): Record<string, Resource> {
  return (template.toJSON() as { Resources: Record<string, Resource> }).Resources;
}

/** How many resources of each type the template holds. */
export function resourceCounts(template: Template): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resource of Object.values(resources(template))) {
    counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
  }
  return counts;
}

/** The watchdog's resources (lib/rotation-watchdog.ts): their logical ids say so; watchdog.test.ts covers them. */
export const WATCHDOG_ID = /Watchdog/;

/** The rotation's single resource of `type` (the watchdog's aside), failing loudly when there is not exactly one. */
export function only(template: Template, type: string): Resource {
  const found = Object.entries(resources(template))
    .filter(([id, resource]) => resource.Type === type && !WATCHDOG_ID.test(id))
    .map(([, resource]) => resource);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0] as Resource;
}

export function propertiesOf(template: Template, type: string): Record<string, unknown> {
  return only(template, type).Properties ?? {};
}

/**
 * Every statement of the rotation function's own policies (inline role policies and AWS::IAM::Policy), the
 * watchdog's aside; the managed policies the construct offers for others are read with `managedPolicyStatements`.
 */
export function identityStatements(template: Template): unknown[] {
  const statements: unknown[] = [];
  for (const [id, resource] of Object.entries(resources(template))) {
    if (WATCHDOG_ID.test(id)) continue;
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Policy') {
      statements.push(...(props.PolicyDocument as { Statement: unknown[] }).Statement);
    }
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of (props.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[]) {
        statements.push(...policy.PolicyDocument.Statement);
      }
    }
  }
  return statements;
}

/** The statements of the one AWS::IAM::ManagedPolicy in the template. */
export function managedPolicyStatements(template: Template): unknown[] {
  return (propertiesOf(template, 'AWS::IAM::ManagedPolicy').PolicyDocument as { Statement: unknown[] })
    .Statement;
}

/** Replaces asset hashes (content-dependent) so a snapshot only changes when the template does. */
export function withoutAssetHashes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
}

/** The rotation function's environment variables (the function that reads STAGED_SECRET_ARN), as synthesized. */
export function rotationFunctionEnvironment(template: Template): Record<string, unknown> {
  const rotationFunction = Object.values(resources(template)).find(
    (r) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties).includes('STAGED_SECRET_ARN'),
  );
  const environment = rotationFunction?.Properties?.Environment as
    | { Variables: Record<string, unknown> }
    | undefined;
  return environment?.Variables ?? {};
}
