/**
 * Evaluates requests against a synthesized template as AWS evaluates them: CloudFormation intrinsics resolved
 * to concrete ARNs, then identity and resource policies (with their conditions) handed to
 * @cloud-copilot/iam-simulate, which applies IAM's evaluation logic (explicit deny, then same-account allow
 * from either side, KMS key policies needing their own grant).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

type Json = unknown;
type Resource = { Type: string; Properties?: Record<string, Json> };
export type Template = { Resources: Record<string, Resource> };
export type PolicyDocument = { Version?: string; Statement: Record<string, Json>[] };
export type Outcome = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** A template and where it is deployed, with every ARN it names resolved. */
export class Deployment {
  readonly #resourcePolicies = new Map<string, Record<string, Json>[]>();

  constructor(
    readonly template: Template,
    readonly account: string,
    readonly region: string,
  ) {
    this.#indexResourcePolicies();
  }

  /** The value `value` takes once deployed: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, Json>;
    const [key] = Object.keys(object);
    const argument = key === undefined ? undefined : object[key];
    if (key === 'Ref') return this.#ref(argument as string);
    if (key === 'Fn::GetAtt') {
      const [id, attribute] = argument as [string, string];
      return this.#attribute(id, attribute);
    }
    if (key === 'Fn::Join') {
      const [separator, parts] = argument as [string, Json[]];
      return (this.resolve(parts) as Json[]).join(separator);
    }
    if (key === 'Fn::Select') {
      const [index, list] = argument as [number, Json];
      return (this.resolve(list) as Json[])[Number(index)];
    }
    if (key === 'Fn::Split') {
      const [separator, text] = argument as [string, Json];
      return String(this.resolve(text)).split(separator);
    }
    if (key === 'Fn::Sub') {
      const text = typeof argument === 'string' ? argument : (argument as [string])[0];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const [id, attribute] = name.split('.');
        return String(attribute === undefined ? this.#ref(id ?? '') : this.#attribute(id ?? '', attribute));
      });
    }
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, this.resolve(v)]));
  }

  /** The logical id of the one resource of `type` whose id matches `pattern`. */
  find(type: string, pattern: RegExp): string {
    const found = Object.entries(this.template.Resources).filter(
      ([id, resource]) => resource.Type === type && pattern.test(id),
    );
    if (found.length !== 1)
      throw new Error(`expected one ${type} matching ${pattern}, found ${found.length}`);
    return found[0]?.[0] ?? '';
  }

  arn(id: string): string {
    const resource = this.template.Resources[id];
    if (resource?.Type === 'AWS::SecretsManager::Secret' || resource?.Type === 'AWS::SNS::Topic') {
      return this.#ref(id);
    }
    if (resource?.Type === 'AWS::SSM::Parameter') {
      // A name given starts with `/`; one CloudFormation generates (`CFN-...`) does not.
      const name = this.#ref(id);
      return `arn:aws:ssm:${this.region}:${this.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
    }
    return this.#attribute(id, 'Arn');
  }

  /** Every identity policy of the role `id`: its AWS::IAM::Policy resources, inline and managed policies. */
  identityPoliciesOfRole(id: string): PolicyDocument[] {
    const role = this.template.Resources[id];
    const documents: PolicyDocument[] = [];
    for (const resource of Object.values(this.template.Resources)) {
      const roles = JSON.stringify(resource.Properties?.Roles ?? []);
      if (resource.Type === 'AWS::IAM::Policy' && roles.includes(`"${id}"`)) {
        documents.push(this.resolve(resource.Properties?.PolicyDocument) as PolicyDocument);
      }
    }
    for (const inline of (role?.Properties?.Policies ?? []) as { PolicyDocument: Json }[]) {
      documents.push(this.resolve(inline.PolicyDocument) as PolicyDocument);
    }
    for (const managed of (role?.Properties?.ManagedPolicyArns ?? []) as Json[]) {
      const policyId = (managed as { Ref?: string }).Ref;
      if (policyId !== undefined) documents.push(this.managedPolicy(policyId));
    }
    return documents;
  }

  managedPolicy(id: string): PolicyDocument {
    return this.resolve(this.template.Resources[id]?.Properties?.PolicyDocument) as PolicyDocument;
  }

  /** The resource policy AWS evaluates for `arn`: secret, topic, key, queue policies and function permissions. */
  resourcePolicy(arn: string): PolicyDocument | undefined {
    const statements = this.#resourcePolicies.get(arn);
    return statements === undefined ? undefined : { Version: '2012-10-17', Statement: statements };
  }

  /** Every resource-policy statement of the template, by policy resource, for checks across them (Sids). */
  policyStatements(): { policy: string; type: string; statements: Record<string, Json>[] }[] {
    const all: { policy: string; type: string; statements: Record<string, Json>[] }[] = [];
    for (const [id, resource] of Object.entries(this.template.Resources)) {
      const document =
        resource.Type === 'AWS::KMS::Key'
          ? resource.Properties?.KeyPolicy
          : resource.Type === 'AWS::SNS::TopicPolicy' || resource.Type === 'AWS::SQS::QueuePolicy'
            ? resource.Properties?.PolicyDocument
            : resource.Type === 'AWS::SecretsManager::ResourcePolicy'
              ? resource.Properties?.ResourcePolicy
              : undefined;
      if (document !== undefined) {
        all.push({ policy: id, type: resource.Type, statements: (document as PolicyDocument).Statement });
      }
    }
    return all;
  }

  #add(arn: string, statements: Record<string, Json>[]): void {
    this.#resourcePolicies.set(arn, [...(this.#resourcePolicies.get(arn) ?? []), ...statements]);
  }

  #indexResourcePolicies(): void {
    for (const [id, resource] of Object.entries(this.template.Resources)) {
      const props = resource.Properties ?? {};
      const statements = (document: Json) => (this.resolve(document) as PolicyDocument).Statement;
      if (resource.Type === 'AWS::KMS::Key') this.#add(this.arn(id), statements(props.KeyPolicy));
      if (resource.Type === 'AWS::SecretsManager::ResourcePolicy') {
        this.#add(this.resolve(props.SecretId) as string, statements(props.ResourcePolicy));
      }
      if (resource.Type === 'AWS::SNS::TopicPolicy') {
        for (const topic of this.resolve(props.Topics) as string[]) {
          this.#add(topic, statements(props.PolicyDocument));
        }
      }
      if (resource.Type === 'AWS::SQS::QueuePolicy') {
        for (const url of this.resolve(props.Queues) as string[]) {
          const name = url.split('/').pop();
          this.#add(`arn:aws:sqs:${this.region}:${this.account}:${name}`, statements(props.PolicyDocument));
        }
      }
      if (resource.Type === 'AWS::Lambda::Permission') {
        const functionArn = this.#functionArn(this.resolve(props.FunctionName) as string);
        const condition: Record<string, Record<string, Json>> = {};
        if (props.SourceArn !== undefined) {
          condition.ArnLike = { 'AWS:SourceArn': this.resolve(props.SourceArn) };
        }
        if (props.SourceAccount !== undefined) {
          condition.StringEquals = { 'AWS:SourceAccount': this.resolve(props.SourceAccount) };
        }
        const principal = this.resolve(props.Principal) as string;
        this.#add(functionArn, [
          {
            Sid: id,
            Effect: 'Allow',
            Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: principal },
            Action: this.resolve(props.Action),
            Resource: functionArn,
            ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
          },
        ]);
      }
    }
  }

  #functionArn(nameOrArn: string): string {
    return nameOrArn.startsWith('arn:')
      ? nameOrArn
      : `arn:aws:lambda:${this.region}:${this.account}:function:${nameOrArn}`;
  }

  #ref(id: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': this.region,
      'AWS::AccountId': this.account,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': 'Stack',
      'AWS::StackId': `arn:aws:cloudformation:${this.region}:${this.account}:stack/Stack/guid`,
    };
    if (pseudo[id] !== undefined) return pseudo[id];
    const resource = this.template.Resources[id];
    if (resource === undefined) throw new Error(`Ref to ${id}, which the template does not hold`);
    const { region, account } = this;
    switch (resource.Type) {
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${region}:${account}:secret:${String(this.resolve(resource.Properties?.Name ?? id))}-AbCdEf`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${account}:${id}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${account}/${id}`;
      case 'AWS::IAM::ManagedPolicy':
        return `arn:aws:iam::${account}:policy/${id}`;
      case 'AWS::SSM::Parameter':
        return String(this.resolve(resource.Properties?.Name ?? `CFN-${id}`));
      case 'AWS::KMS::Key':
        return id.toLowerCase();
      default:
        return id;
    }
  }

  #attribute(id: string, attribute: string): string {
    const resource = this.template.Resources[id];
    if (resource === undefined) throw new Error(`Fn::GetAtt of ${id}, which the template does not hold`);
    const { region, account } = this;
    const name = this.#ref(id);
    const arns: Record<string, string> = {
      'AWS::IAM::Role': `arn:aws:iam::${account}:role${String(resource.Properties?.Path ?? '/')}${id}`,
      'AWS::Lambda::Function': `arn:aws:lambda:${region}:${account}:function:${id}`,
      'AWS::KMS::Key': `arn:aws:kms:${region}:${account}:key/${name}`,
      'AWS::SQS::Queue': `arn:aws:sqs:${region}:${account}:${id}`,
      'AWS::DynamoDB::Table': `arn:aws:dynamodb:${region}:${account}:table/${id}`,
      'AWS::Events::Rule': `arn:aws:events:${region}:${account}:rule/${id}`,
      'AWS::CloudWatch::Alarm': `arn:aws:cloudwatch:${region}:${account}:alarm:${id}`,
      'AWS::Logs::LogGroup': `arn:aws:logs:${region}:${account}:log-group:${id}:*`,
      'AWS::SNS::Topic': name,
    };
    if (attribute === 'TopicName') return id;
    if (attribute === 'QueueName') return id;
    if (attribute === 'Arn' || attribute === 'TopicArn') {
      const arn = arns[resource.Type];
      if (arn !== undefined) return arn;
    }
    throw new Error(`no ${attribute} of ${resource.Type} in the resolver`);
  }
}

/** Who sends a request: an IAM role (its session signs it), a user, or an AWS service. */
export type Caller =
  | { readonly role: string; readonly policies: readonly PolicyDocument[] }
  | { readonly service: string };

/** How AWS decides `action` on `resource` by `caller`, with the request context the caller sends. */
export async function evaluate(
  deployment: Deployment,
  caller: Caller,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
): Promise<Outcome> {
  const iam = 'role' in caller;
  const principal = iam
    ? caller.role.replace(
        /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/,
        'arn:aws:sts::$1:assumed-role/$2/session',
      )
    : caller.service;
  const contextVariables: Record<string, string | string[]> = {
    'aws:SecureTransport': 'true',
    ...(iam
      ? { 'aws:PrincipalArn': caller.role, 'aws:PrincipalAccount': caller.role.split(':')[4] ?? '' }
      : { 'aws:PrincipalServiceName': caller.service }),
    ...context,
  };
  const result = await runSimulation(
    {
      request: { principal, action, resource: { resource, accountId: deployment.account }, contextVariables },
      identityPolicies: iam
        ? caller.policies.map((policy, index) => ({ name: `policy${index}`, policy }))
        : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: deployment.resourcePolicy(resource),
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(`${action} on ${resource}: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult as Outcome;
}
