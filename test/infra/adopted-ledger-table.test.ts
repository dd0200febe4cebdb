import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../core/contract.js';
import { buildApp } from '../../lib/app.js';
import { readEnvironments } from '../../lib/config.js';
import { StripeKeyRotation } from '../../lib/stripe-key-rotation.js';
import {
  identityStatements,
  LIVE_OPERATOR_ARN,
  LIVE_OPERATORS,
  resourceCounts,
  rotationFunctionEnvironment,
  testApp,
  testStack,
} from './support.js';

const SYNTH_TIMEOUT = 60_000;
const TABLE = 'StripeKeyRotator-live-RotationLedgerTable1A2B3C-XYZ';
const TABLE_ARN = `arn:aws:dynamodb:eu-west-3:123456789012:table/${TABLE}`;
const TABLE_KEY = 'arn:aws:kms:eu-west-3:123456789012:key/ledger-key';

describe('a StripeKeyRotation adopting an existing ledger table (e.g. one a deleted stack retained)', () => {
  let rotation: StripeKeyRotation;
  let template: Template;
  beforeAll(() => {
    const stack = testStack();
    rotation = new StripeKeyRotation(stack, 'Rotation', {
      keyMode: 'live',
      operatorPrincipals: LIVE_OPERATORS,
      ledgerTable: dynamodb.Table.fromTableAttributes(stack, 'Ledger', {
        tableName: TABLE,
        encryptionKey: kms.Key.fromKeyArn(stack, 'LedgerKey', TABLE_KEY),
      }),
    });
    template = Template.fromStack(stack);
  }, SYNTH_TIMEOUT);

  it('creates no table of its own and points the function at the adopted one', () => {
    expect(resourceCounts(template)['AWS::DynamoDB::Table']).toBeUndefined();
    expect(rotation.ledgerTable.tableName).toBe(TABLE);
    expect(rotationFunctionEnvironment(template)[SETTINGS.ledgerTable.variable]).toBe(TABLE);
  });

  it('grants the function the ledger calls on that table and its history index, and its key only through DynamoDB', () => {
    const statements = identityStatements(template) as { Sid?: string }[];
    const bySid = (sid: string) => statements.find((statement) => statement.Sid === sid);
    expect(bySid('RecordLedger')).toMatchObject({ Resource: TABLE_ARN });
    expect(bySid('ReadLedgerHistory')).toMatchObject({ Resource: `${TABLE_ARN}/index/history` });
    expect(bySid('UseLedgerKey')).toMatchObject({
      Resource: TABLE_KEY,
      Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-3.amazonaws.com' } },
    });
  });

  it('passes both cdk-nag packs', () => {
    const violations = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap(
      (pack) => pack.validateScope(rotation).violations,
    );
    expect(violations.map((violation) => violation.ruleName)).toEqual([]);
    // Both packs walk every resource of the rotation: slower than the default timeout on a loaded machine.
  }, 30_000);
});

describe('a StripeKeyRotation given a ledger table of another region or account', () => {
  it('refuses it at synth, naming the prop, the table and where it is: the function reads the ledger by name, at home', () => {
    for (const [arn, where] of [
      ['arn:aws:dynamodb:us-east-1:123456789012:table/elsewhere', 'region us-east-1'],
      ['arn:aws:dynamodb:eu-west-3:210987654321:table/elsewhere', 'account 210987654321'],
    ] as const) {
      const stack = testStack();
      let message = '';
      try {
        new StripeKeyRotation(stack, 'Rotation', {
          keyMode: 'live',
          operatorPrincipals: LIVE_OPERATORS,
          ledgerTable: dynamodb.Table.fromTableArn(stack, 'Ledger', arn),
        });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain(`ledgerTable=elsewhere is in ${where}, not in this stack's`);
    }
  });
});

describe('the ledgerTable setting of a cdk.json environment', () => {
  const live = {
    keyMode: 'live',
    account: '123456789012',
    region: 'eu-west-3',
    operatorPrincipals: [LIVE_OPERATOR_ARN],
  };

  it(
    'adopts the named table, with its key, in the stack it builds',
    () => {
      const app = testApp({
        context: {
          environment: 'live',
          environments: { live: { ...live, ledgerTable: { name: TABLE, kmsKeyArn: TABLE_KEY } } },
        },
      });
      const [stack] = buildApp(app);
      const template = Template.fromStack(stack as NonNullable<typeof stack>);
      expect(resourceCounts(template)['AWS::DynamoDB::Table']).toBeUndefined();
      expect(rotationFunctionEnvironment(template)[SETTINGS.ledgerTable.variable]).toBe(TABLE);
      expect(template.toJSON().Outputs.LedgerTableName.Value).toBe(TABLE);
      expect(JSON.stringify(identityStatements(template))).toContain(TABLE_KEY);
    },
    SYNTH_TIMEOUT,
  );

  it('refuses a value that is not {"name": …} or a name DynamoDB would refuse, naming the setting', () => {
    const refusal = (ledgerTable: unknown): string => {
      try {
        readEnvironments({ live: { ...live, ledgerTable } });
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(refusal(TABLE)).toContain('environments.live.ledgerTable: expected {"name": "<table name>"');
    expect(refusal({ name: 'has space' })).toContain('environments.live.ledgerTable.name');
    expect(refusal({ name: TABLE, kmsKeyArn: 'alias/x' })).toContain(
      'environments.live.ledgerTable.kmsKeyArn',
    );
    expect(refusal({ name: TABLE, arn: TABLE_ARN })).toContain('arn');
  });
});
