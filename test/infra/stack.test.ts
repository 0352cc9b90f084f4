import { beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { ENV } from '../../shared/config.js';
import { CUSTOMERS_TABLE, DEDUPE_TABLE } from '../../shared/customers/table.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderDefinition } from '../../shared/providers.js';
import { PLACEHOLDER_PREFIX } from '../../shared/secrets/cache.js';
import { ACCESS_LOG_FORMAT } from '../../infra/constructs/callback-api.js';
import { DEFAULT_SETTINGS } from '../../infra/settings.js';
import { asList, logicalId, referencedIds, statementsOfRole, synthStack, type Synthesised } from './support.js';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

// The whole default deployment (all five providers), synthesised once for this file.
let synth: Synthesised;
beforeAll(() => {
  synth = synthStack();
});

const providers = PROVIDER_IDS.map((id) => PROVIDERS[id] as ProviderDefinition);
const resources = (type: string) => synth.template.findResources(type) as Record<string, Resource>;
const endpoint = (provider: ProviderDefinition) => synth.stack.endpoints[provider.id]!;
const functionId = (provider: ProviderDefinition) => logicalId(endpoint(provider).function);

describe('HTTP API routes (registry -> API Gateway v2)', () => {
  it.each(providers.flatMap((p) => p.routes.map((r) => [p.id, `${r.method} ${r.path}`, p] as const)))(
    '%s: route %s exists, Lambda proxy integration with payload format 2.0 to its own function',
    (_id, routeKey, provider) => {
      const routes = Object.values(resources('AWS::ApiGatewayV2::Route')).filter((r) => r.Properties.RouteKey === routeKey);
      expect(routes).toHaveLength(1);
      const [integrationId] = referencedIds(routes[0]!.Properties.Target);
      const integration = resources('AWS::ApiGatewayV2::Integration')[integrationId!]!;
      expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      expect(referencedIds(integration.Properties.IntegrationUri)).toEqual([functionId(provider)]);
      // Authentication is the HMAC in the handler; the gateway passes every request through.
      expect(routes[0]!.Properties.AuthorizationType ?? 'NONE').toBe('NONE');
    },
  );

  it('has exactly the registry routes on one HTTP API, nothing else', () => {
    const registryKeys = providers.flatMap((p) => p.routes.map((r) => `${r.method} ${r.path}`)).sort();
    const keys = Object.values(resources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey).sort();
    expect(keys).toEqual(registryKeys);
    synth.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
  });

  it('$default stage: auto-deployed, throttled, JSON access logs with a numeric status', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: DEFAULT_SETTINGS.throttle.rateLimit, ThrottlingBurstLimit: DEFAULT_SETTINGS.throttle.burstLimit },
      AccessLogSettings: { Format: ACCESS_LOG_FORMAT, DestinationArn: Match.anyValue() },
    });
    // The format is a JSON object once API Gateway substitutes values; status stays a number.
    const sample = ACCESS_LOG_FORMAT.replace(/\$context\.status\b/g, '200').replace(/\$context\.[a-zA-Z.]+/g, 'x');
    expect(JSON.parse(sample)).toMatchObject({ status: 200, routeKey: 'x' });
  });
});

describe('functions', () => {
  it.each(providers.map((p) => [p.id, p] as const))('%s: nodejs22.x on arm64, timeout and memory from the registry budget, JSON logs to its own group', (_id, provider) => {
    const fn = resources('AWS::Lambda::Function')[functionId(provider)]!;
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: provider.budget.functionTimeoutSeconds,
      MemorySize: provider.budget.memoryMb,
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logicalId(endpoint(provider).logGroup) } },
    });
  });

  it.each(providers.map((p) => [p.id, p] as const))('%s: a function URL with auth NONE, buffered, invokable by anyone (both permissions AWS requires since 2025)', (_id, provider) => {
    const fnId = functionId(provider);
    const urls = Object.values(resources('AWS::Lambda::Url')).filter((u) => referencedIds(u.Properties.TargetFunctionArn).includes(fnId));
    expect(urls).toHaveLength(1);
    expect(urls[0]!.Properties).toMatchObject({ AuthType: 'NONE', InvokeMode: 'BUFFERED' });
    const permissions = Object.values(resources('AWS::Lambda::Permission')).filter((p) => referencedIds(p.Properties.FunctionName).includes(fnId) && p.Properties.Principal === '*');
    expect(permissions.map((p) => p.Properties)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE' }),
        expect.objectContaining({ Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true }),
      ]),
    );
    // Public only through the URL: no unconditioned public InvokeFunction.
    expect(permissions.every((p) => p.Properties.FunctionUrlAuthType === 'NONE' || p.Properties.InvokedViaFunctionUrl === true)).toBe(true);
  });

  it.each(providers.map((p) => [p.id, p] as const))('%s: environment names its own secret and the tables/bus its kind needs', (_id, provider) => {
    const env = resources('AWS::Lambda::Function')[functionId(provider)]!.Properties.Environment.Variables as Record<string, unknown>;
    const secretId = logicalId(endpoint(provider).secret);
    expect(env[ENV.signingSecretId]).toEqual({ Ref: secretId });
    // Source maps ship in the asset but are not loaded on every cold start (docs/deploy.md, "Bundling").
    expect(env).not.toHaveProperty('NODE_OPTIONS');
    if (provider.kind === 'lookup') {
      expect(env).toMatchObject({ [ENV.directory]: 'dynamodb', [ENV.customersTable]: { Ref: logicalId(synth.stack.customers!.table) } });
      expect(env).not.toHaveProperty(ENV.eventBusName);
      expect(env).not.toHaveProperty(ENV.dedupeTable);
    } else {
      expect(env).toMatchObject({
        [ENV.eventSink]: 'eventbridge',
        [ENV.eventBusName]: { Ref: logicalId(synth.stack.eventBus!) },
        [ENV.dedupeTable]: { Ref: logicalId(synth.stack.dedupe!.table) },
      });
      expect(env).not.toHaveProperty(ENV.customersTable);
    }
  });
});

describe('least privilege (policy documents)', () => {
  const secretIds = () => providers.map((p) => logicalId(endpoint(p).secret));
  const roleOf = (provider: ProviderDefinition) => referencedIds(resources('AWS::Lambda::Function')[functionId(provider)]!.Properties.Role)[0]!;

  it.each(providers.map((p) => [p.id, p] as const))('%s: may read only its own secret, with exactly the calls the secrets cache makes', (_id, provider) => {
    const statements = statementsOfRole(synth.template, roleOf(provider));
    const secretStatements = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('secretsmanager:')));
    expect(secretStatements).toHaveLength(1);
    expect(asList(secretStatements[0]!.Action).sort()).toEqual(['secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds']);
    expect(secretStatements[0]!.Resource).toEqual({ Ref: logicalId(endpoint(provider).secret) });
    // No statement of this role touches another provider's secret.
    const others = secretIds().filter((id) => id !== logicalId(endpoint(provider).secret));
    expect(statements.flatMap((s) => referencedIds(s.Resource)).filter((id) => others.includes(id))).toEqual([]);
  });

  it.each(providers.map((p) => [p.id, p] as const))('%s: its data permissions match its kind and name single resources', (_id, provider) => {
    const statements = statementsOfRole(synth.template, roleOf(provider));
    const actions = statements.flatMap((s) => asList(s.Action)).sort();
    const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    const secrets = ['secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds'];
    const data = provider.kind === 'lookup' ? ['dynamodb:GetItem', 'dynamodb:Query'] : ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'events:PutEvents', 's3:PutObject'];
    expect(actions).toEqual([...logs, ...secrets, ...data].sort());
    const referenced = new Set(statements.flatMap((s) => referencedIds(s.Resource)));
    if (provider.kind === 'lookup') {
      // GetItem on the table's items, Query on the byEmail index only (what shared/customers/dynamodb.ts sends).
      const get = statements.find((s) => asList(s.Action).includes('dynamodb:GetItem'))!;
      const query = statements.find((s) => asList(s.Action).includes('dynamodb:Query'))!;
      expect(asList(get.Action)).toEqual(['dynamodb:GetItem']);
      expect(get.Resource).toEqual({ 'Fn::GetAtt': [logicalId(synth.stack.customers!.table), 'Arn'] });
      expect(asList(query.Action)).toEqual(['dynamodb:Query']);
      expect(JSON.stringify(query.Resource)).toContain(`/index/${CUSTOMERS_TABLE.emailIndex}`);
      expect(referenced.has(logicalId(synth.stack.customers!.table))).toBe(true);
      expect(referenced.has(logicalId(synth.stack.dedupe!.table))).toBe(false);
    } else {
      expect(referenced.has(logicalId(synth.stack.dedupe!.table))).toBe(true);
      expect(referenced.has(logicalId(synth.stack.eventBus!))).toBe(true);
      expect(referenced.has(logicalId(synth.stack.customers!.table))).toBe(false);
      // The delivery bucket: PutObject under its own claims/ and parked/ prefixes only (test/infra/delivery.test.ts).
      expect(referenced.has(logicalId(synth.stack.deliveries!.bucket))).toBe(true);
    }
    // Logs go to its own group only.
    const logStatement = statements.find((s) => asList(s.Action).includes('logs:PutLogEvents'))!;
    expect(referencedIds(logStatement.Resource)).toEqual([logicalId(endpoint(provider).logGroup)]);
  });

  it('no IAM policy or role uses a wildcard action or resource (but an S3 key prefix in the delivery bucket), or an AWS managed policy', () => {
    const bucketArn = JSON.stringify({ 'Fn::GetAtt': [logicalId(synth.stack.deliveries!.bucket), 'Arn'] });
    for (const [id, policy] of Object.entries(resources('AWS::IAM::Policy'))) {
      for (const s of policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]) {
        expect(asList(s.Action).filter((a) => a.includes('*')), id).toEqual([]);
        for (const resource of asList(s.Resource)) {
          const text = JSON.stringify(resource);
          // S3 names objects by key: `<bucket ARN>/<prefix>/*` is the narrowest grant there is.
          if (text.includes('*')) expect(text, id).toMatch(new RegExp(`^\\{"Fn::Join":\\["",\\[${bucketArn.replace(/[[\]{}().*+?^$|\\]/g, '\\$&')},"/(claims|parked)/([a-z]+/)?\\*"\\]\\]\\}$`));
        }
      }
    }
    for (const role of Object.values(resources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('secrets', () => {
  it.each(providers.map((p) => [p.id, p] as const))('%s: created with a placeholder for each registry key, named for the console, kept on stack deletion', (_id, provider) => {
    const secret = resources('AWS::SecretsManager::Secret')[logicalId(endpoint(provider).secret)]!;
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(secret.Properties.Name).toBe(`SignedCallbackReceivers/${provider.id}/signing-secret`);
    const value = JSON.parse(secret.Properties.SecretString) as Record<string, string>;
    expect(Object.keys(value).sort()).toEqual([...provider.secretKeys].sort());
    for (const key of provider.secretKeys) expect(value[key]!.startsWith(PLACEHOLDER_PREFIX)).toBe(true);
  });
});

describe('tables and bus (layouts from shared/customers/table.ts)', () => {
  it('customers: on-demand, point-in-time recovery, pk + byEmail index on emailLower, TTL on expiresAt, retained', () => {
    const table = resources('AWS::DynamoDB::Table')[logicalId(synth.stack.customers!.table)]!;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: CUSTOMERS_TABLE.partitionKey, KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: CUSTOMERS_TABLE.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: [{ IndexName: CUSTOMERS_TABLE.emailIndex, KeySchema: [{ AttributeName: CUSTOMERS_TABLE.emailIndexKey, KeyType: 'HASH' }] }],
    });
  });

  it('de-duplication: on-demand, pk, TTL on expiresAt', () => {
    const table = resources('AWS::DynamoDB::Table')[logicalId(synth.stack.dedupe!.table)]!;
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: DEDUPE_TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: DEDUPE_TABLE.ttlAttribute, Enabled: true },
    });
  });

  it('one EventBridge bus for webhook events', () => {
    synth.template.resourceCountIs('AWS::Events::EventBus', 1);
  });
});

describe('logs, alarms, outputs', () => {
  it('every log group (one per function, plus API access logs) has a retention', () => {
    const groups = Object.values(resources('AWS::Logs::LogGroup'));
    // One per provider function, the redrive function, and the API access logs.
    expect(groups).toHaveLength(providers.length + 2);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(DEFAULT_SETTINGS.logRetention);
  });

  it.each(providers.map((p) => [p.id, p] as const))('%s: alarms on rejected signatures, 5xx and throttles, each notifying the alarm topic', (_id, provider) => {
    const topicRef = { Ref: logicalId(synth.stack.alarmTopic.topic) };
    for (const alarm of Object.values(endpoint(provider).alarms)) {
      const props = resources('AWS::CloudWatch::Alarm')[logicalId(alarm)]!.Properties;
      expect(props.AlarmActions).toEqual([topicRef]);
      expect(props.OKActions).toEqual([topicRef]);
      expect(props.TreatMissingData).toBe('notBreaching');
    }
    const filters = Object.values(resources('AWS::Logs::MetricFilter'));
    const ownLogs = { Ref: logicalId(endpoint(provider).logGroup) };
    const onOwnLogs = filters.filter((f) => JSON.stringify(f.Properties.LogGroupName) === JSON.stringify(ownLogs)).map((f) => f.Properties.FilterPattern as string);
    // shared/handler.ts logs outcome `bad_signature_*` for rejected signatures and `stale_timestamp` for replays.
    expect(onOwnLogs).toContain('{ ($.outcome = "bad_signature_*") || ($.outcome = "stale_timestamp") }');
    expect(onOwnLogs).toContain('{ $.status >= 500 }');
    const onAccessLogs = filters.filter((f) => referencedIds(f.Properties.LogGroupName).includes(logicalId(synth.stack.api.accessLogs))).map((f) => f.Properties.FilterPattern as string);
    for (const route of provider.routes) expect(onAccessLogs.some((p) => p.includes(`$.routeKey = "${route.method} ${route.path}"`) && p.includes('$.status >= 500'))).toBe(true);
    // The 5xx alarm adds Lambda errors, the handler's 5xx lines and the API's 5xx on its routes.
    const serverErrors = resources('AWS::CloudWatch::Alarm')[logicalId(endpoint(provider).alarms.serverErrors)]!.Properties;
    expect(serverErrors.Metrics.map((m: { Id: string }) => m.Id).sort()).toEqual(['answered5xx', 'api5xx', 'expr_1', 'lambdaErrors']);
    const throttles = resources('AWS::CloudWatch::Alarm')[logicalId(endpoint(provider).alarms.throttles)]!.Properties;
    expect(throttles).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Throttles' });
  });

  it('the API stage alarms on throttled (429) requests', () => {
    const props = resources('AWS::CloudWatch::Alarm')[logicalId(synth.stack.api.throttledAlarm)]!.Properties;
    expect(props.AlarmActions).toEqual([{ Ref: logicalId(synth.stack.alarmTopic.topic) }]);
    synth.template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.status = 429 }' });
  });

  it('the alarm topic refuses publishers without TLS', () => {
    synth.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it.each(providers.map((p) => [p.id, p] as const))('%s: outputs the URLs to paste into the platform console and the secret name', (_id, provider) => {
    const outputs = synth.template.findOutputs('*') as Record<string, { Value: unknown; Description: string }>;
    const prefix = provider.id.charAt(0).toUpperCase() + provider.id.slice(1);
    for (const route of provider.routes) {
      const suffix = provider.routes.length > 1 ? route.eventFamily!.charAt(0).toUpperCase() + route.eventFamily!.slice(1) : '';
      const fnUrl = outputs[`${prefix}${suffix}FunctionUrl`]!;
      const apiUrl = outputs[`${prefix}${suffix}ApiUrl`]!;
      // Function URL (ends in '/') + route path without its leading '/'; API endpoint + route path.
      expect(JSON.stringify(fnUrl.Value)).toContain(`"${route.path.slice(1)}"`);
      expect(referencedIds(fnUrl.Value)).toEqual([logicalId(endpoint(provider).functionUrl)]);
      expect(JSON.stringify(apiUrl.Value)).toContain(`"${route.path}"`);
      expect(fnUrl.Description).toContain('Paste into:');
    }
    expect(outputs[`${prefix}SecretName`]!.Value).toBe(`SignedCallbackReceivers/${provider.id}/signing-secret`);
  });
});
