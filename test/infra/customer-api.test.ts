import { beforeAll, describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { App } from 'aws-cdk-lib';
import { buildApp } from '../../infra/app.js';
import type { SignedCallbacksStack } from '../../infra/stack.js';
import { ENV } from '../../shared/config.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderDefinition } from '../../shared/providers.js';
import { asList, INLINE_CODE, logicalId, referencedIds, statementsOfRole, testApp, type PolicyStatementJson } from './support.js';

/**
 * `-c customerApiUrl=... [-c customerApiTokenSecretArn=...]`: the lookup providers read the team's own
 * user API (shared/customers/http.ts) through CUSTOMER_DIRECTORY=http instead of the customers table.
 */

const API_URL = 'https://users.internal.example.com/v1';
const TOKEN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/users-api-token-Zz9Yy8';

type FunctionResource = { Properties: { Environment: { Variables: Record<string, unknown> }; Role: unknown } };

interface Built {
  readonly app: App;
  readonly stack: SignedCallbacksStack;
  readonly template: Template;
}

/** The app as `cdk synth -c ...` builds it (settings parsed from context), with inline code instead of bundles. */
function appWith(context: Record<string, unknown>): Built {
  const { app, stack } = buildApp(testApp(context), { functionCode: () => INLINE_CODE });
  return { app, stack, template: Template.fromStack(stack) };
}

const providers = PROVIDER_IDS.map((id) => PROVIDERS[id] as ProviderDefinition);
const lookups = providers.filter((p) => p.kind === 'lookup');
const webhooks = providers.filter((p) => p.kind === 'webhook');

function functionOf(built: Built, provider: ProviderDefinition): FunctionResource {
  return built.template.findResources('AWS::Lambda::Function')[logicalId(built.stack.endpoints[provider.id]!.function)] as FunctionResource;
}
const envOf = (built: Built, provider: ProviderDefinition) => functionOf(built, provider).Properties.Environment.Variables;
const statementsOf = (built: Built, provider: ProviderDefinition): PolicyStatementJson[] =>
  statementsOfRole(built.template, referencedIds(functionOf(built, provider).Properties.Role)[0]!);
const actionsOf = (statements: readonly PolicyStatementJson[]) => statements.flatMap((s) => asList(s.Action));

const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const OWN_SECRET = ['secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds'];
const CUSTOMER_ENV = [ENV.directory, ENV.customersTable, ENV.directoryUrl, ENV.directoryTokenSecretId];

describe('-c customerApiUrl=<url> -c customerApiTokenSecretArn=<arn> (all five providers)', () => {
  let built: Built;
  beforeAll(() => {
    built = appWith({ customerApiUrl: API_URL, customerApiTokenSecretArn: TOKEN_ARN });
  });

  it.each(lookups.map((p) => [p.id, p] as const))('%s: CUSTOMER_DIRECTORY=http, the API URL and the token secret, no table name', (_id, provider) => {
    const env = envOf(built, provider);
    expect(env).toMatchObject({ [ENV.directory]: 'http', [ENV.directoryUrl]: API_URL, [ENV.directoryTokenSecretId]: TOKEN_ARN });
    expect(env).not.toHaveProperty(ENV.customersTable);
  });

  it.each(lookups.map((p) => [p.id, p] as const))('%s: GetSecretValue on exactly the token ARN, besides its own signing secret, and no DynamoDB action', (_id, provider) => {
    const statements = statementsOf(built, provider);
    expect(actionsOf(statements).sort()).toEqual([...LOGS, ...OWN_SECRET, 'secretsmanager:GetSecretValue'].sort());
    expect(actionsOf(statements).filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    // bearerTokenFromSecret only calls GetSecretValue, by the id it is given: one action, one resource, no wildcard.
    const token = statements.filter((s) => JSON.stringify(s.Resource).includes(TOKEN_ARN));
    expect(token).toHaveLength(1);
    expect(token[0]).toMatchObject({ Effect: 'Allow', Resource: TOKEN_ARN });
    expect(asList(token[0]!.Action)).toEqual(['secretsmanager:GetSecretValue']);
    // The signing-secret statement still names only the provider's own secret.
    const signing = statements.filter((s) => asList(s.Action).includes('secretsmanager:ListSecretVersionIds'));
    expect(signing.map((s) => s.Resource)).toEqual([{ Ref: logicalId(built.stack.endpoints[provider.id]!.secret) }]);
  });

  it.each(webhooks.map((p) => [p.id, p] as const))('%s: unchanged — keeps the de-duplication table and the bus, gets no customer setting or token', (_id, provider) => {
    const env = envOf(built, provider);
    for (const name of CUSTOMER_ENV) expect(env).not.toHaveProperty(name);
    expect(env[ENV.dedupeTable]).toEqual({ Ref: logicalId(built.stack.dedupe!.table) });
    const statements = statementsOf(built, provider);
    expect(actionsOf(statements).sort()).toEqual([...LOGS, ...OWN_SECRET, 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'events:PutEvents', 's3:PutObject'].sort());
    expect(JSON.stringify(statements)).not.toContain(TOKEN_ARN);
  });

  it('creates no customers table: the only table is the de-duplication table, and no CustomersTableName output', () => {
    expect(built.stack.customers).toBeUndefined();
    expect(Object.keys(built.template.findResources('AWS::DynamoDB::Table'))).toEqual([logicalId(built.stack.dedupe!.table)]);
    expect(built.template.findOutputs('CustomersTableName')).toEqual({});
  });

  it('the token secret is referenced, never created or managed: no new secret, nothing else names its ARN', () => {
    built.template.resourceCountIs('AWS::SecretsManager::Secret', providers.length);
    const mentions = Object.entries(built.template.toJSON().Resources as Record<string, { Type: string }>)
      .filter(([, r]) => JSON.stringify(r).includes(TOKEN_ARN))
      .map(([, r]) => r.Type);
    // One function and one policy per lookup provider (CDK may merge policies, never beyond the lookup roles).
    expect(mentions.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(lookups.length);
    expect(new Set(mentions)).toEqual(new Set(['AWS::Lambda::Function', 'AWS::IAM::Policy']));
  });

  it('cdk-nag AwsSolutions: zero unacknowledged findings in this mode too', () => {
    const report = new AwsSolutionsChecks(built.app).validateScope(built.app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('-c customerApiUrl=<url> without a token secret', () => {
  let built: Built;
  beforeAll(() => {
    built = appWith({ customerApiUrl: API_URL, providers: 'buddy,talki,helper' });
  });

  it.each(lookups.map((p) => [p.id, p] as const))('%s: no CUSTOMER_API_TOKEN_SECRET_ID (http.ts then sends no Authorization header) and no extra secret permission', (_id, provider) => {
    const env = envOf(built, provider);
    expect(env).toMatchObject({ [ENV.directory]: 'http', [ENV.directoryUrl]: API_URL });
    expect(env).not.toHaveProperty(ENV.directoryTokenSecretId);
    expect(env).not.toHaveProperty(ENV.customersTable);
    expect(actionsOf(statementsOf(built, provider)).sort()).toEqual([...LOGS, ...OWN_SECRET].sort());
  });

  it('a lookup-only deployment on the customer API has no DynamoDB table at all', () => {
    built.template.resourceCountIs('AWS::DynamoDB::Table', 0);
    built.template.resourceCountIs('AWS::Events::EventBus', 0);
    expect(JSON.stringify(built.template.toJSON())).not.toContain('dynamodb:');
  });
});

describe('without customerApiUrl (the default)', () => {
  let built: Built;
  beforeAll(() => {
    built = appWith({ providers: 'buddy,talki,helper' });
  });

  it.each(lookups.map((p) => [p.id, p] as const))('%s: still CUSTOMER_DIRECTORY=dynamodb on the stack’s customers table, GetItem + Query only, no customer-API setting', (_id, provider) => {
    const env = envOf(built, provider);
    expect(env).toMatchObject({ [ENV.directory]: 'dynamodb', [ENV.customersTable]: { Ref: logicalId(built.stack.customers!.table) } });
    expect(env).not.toHaveProperty(ENV.directoryUrl);
    expect(env).not.toHaveProperty(ENV.directoryTokenSecretId);
    expect(actionsOf(statementsOf(built, provider)).sort()).toEqual([...LOGS, ...OWN_SECRET, 'dynamodb:GetItem', 'dynamodb:Query'].sort());
    built.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    expect(built.template.findOutputs('CustomersTableName')).not.toEqual({});
  });
});

describe('invalid customer-API context', () => {
  it('fails the synth with both problems listed', () => {
    expect(() => buildApp(testApp({ customerApiUrl: 'users.internal', customerApiTokenSecretArn: 'prod/users-api-token' }), { functionCode: () => INLINE_CODE })).toThrow(
      /Invalid CDK context:[\s\S]*customerApiTokenSecretArn: expected[\s\S]*customerApiUrl: expected an http\(s\) URL/,
    );
  });
});
