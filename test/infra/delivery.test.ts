import { beforeAll, describe, expect, it } from 'vitest';
import { REDRIVE_SCHEDULE_MINUTES } from '../../infra/constructs/delivery-redrive.js';
import { DEFAULT_SETTINGS, settingsFromContext } from '../../infra/settings.js';
import { ENV } from '../../shared/config.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderDefinition } from '../../shared/providers.js';
import { asList, logicalId, referencedIds, statementsOfRole, synthStack, type Synthesised } from './support.js';

/**
 * The delivery bucket (claim checks and parked deliveries), the webhook functions' grants on it, the
 * scheduled redrive and the parked-delivery alarm, as synthesised for the default deployment.
 */

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

let synth: Synthesised;
beforeAll(() => {
  synth = synthStack();
});

const resources = (type: string) => synth.template.findResources(type) as Record<string, Resource>;
const bucketId = () => logicalId(synth.stack.deliveries!.bucket);
const webhooks = PROVIDER_IDS.map((id) => PROVIDERS[id] as ProviderDefinition).filter((p) => p.kind === 'webhook');
const lookups = PROVIDER_IDS.map((id) => PROVIDERS[id] as ProviderDefinition).filter((p) => p.kind === 'lookup');
const roleOf = (provider: ProviderDefinition) => logicalId(synth.stack.endpoints[provider.id]!.function.role!);
/** `<bucket ARN>/<suffix>` as CloudFormation writes an object ARN. */
const objectArn = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId(), 'Arn'] }, `/${suffix}`]] });

describe('the delivery bucket', () => {
  it('private: every public access block on, objects owned by the bucket owner', () => {
    const bucket = resources('AWS::S3::Bucket')[bucketId()]!;
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  });

  it('encrypted at rest (SSE-S3), kept when the stack is deleted (it holds deliveries the platforms were told are kept)', () => {
    const bucket = resources('AWS::S3::Bucket')[bucketId()]!;
    expect(bucket.Properties.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    expect(bucket.DeletionPolicy).toBe('Retain');
  });

  it('TLS only: the bucket policy denies every request made without TLS', () => {
    const policies = Object.values(resources('AWS::S3::BucketPolicy')).filter((p) => referencedIds(p.Properties.Bucket).includes(bucketId()));
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
  });

  it(`lifecycle: every object expires after ${DEFAULT_SETTINGS.deliveryRetentionDays} days by default, or -c deliveryRetentionDays`, () => {
    const rules = (bucket: Resource) => bucket.Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules(resources('AWS::S3::Bucket')[bucketId()]!)).toEqual([
      expect.objectContaining({ Status: 'Enabled', ExpirationInDays: 30, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
    ]);
    const other = synthStack({ settings: { deliveryRetentionDays: 7 } });
    const bucket = Object.values(other.template.findResources('AWS::S3::Bucket'))[0] as Resource;
    expect(rules(bucket)[0]).toMatchObject({ ExpirationInDays: 7 });
    expect(settingsFromContext({ deliveryRetentionDays: '7' })).toMatchObject({ ok: true, settings: { deliveryRetentionDays: 7 } });
    expect(settingsFromContext({ deliveryRetentionDays: '0' })).toMatchObject({ ok: false, errors: [expect.stringContaining('deliveryRetentionDays')] });
  });

  it('its name and the de-duplication table are outputs, for npm run redrive', () => {
    expect(synth.template.findOutputs('DeliveryBucketName').DeliveryBucketName!.Value).toEqual({ Ref: bucketId() });
    expect(synth.template.findOutputs('DedupeTableName').DedupeTableName!.Value).toEqual({ Ref: logicalId(synth.stack.dedupe!.table) });
  });
});

describe('grants on the bucket', () => {
  it.each(webhooks.map((p) => [p.id, p] as const))('%s: PutObject under claims/%s/ and parked/%s/ only, and DELIVERY_BUCKET set', (_id, provider) => {
    const s3 = statementsOfRole(synth.template, roleOf(provider)).filter((s) => asList(s.Action).some((a) => a.startsWith('s3:')));
    expect(s3).toHaveLength(1);
    expect(asList(s3[0]!.Action)).toEqual(['s3:PutObject']);
    expect(asList(s3[0]!.Resource)).toEqual([objectArn(`claims/${provider.id}/*`), objectArn(`parked/${provider.id}/*`)]);
    const fn = resources('AWS::Lambda::Function')[logicalId(synth.stack.endpoints[provider.id]!.function)]!;
    expect(fn.Properties.Environment.Variables[ENV.deliveryBucket]).toEqual({ Ref: bucketId() });
  });

  it.each(lookups.map((p) => [p.id, p] as const))('%s (a lookup): no S3 permission at all, no DELIVERY_BUCKET', (_id, provider) => {
    const actions = statementsOfRole(synth.template, roleOf(provider)).flatMap((s) => asList(s.Action));
    expect(actions.filter((a) => a.startsWith('s3:'))).toEqual([]);
    const fn = resources('AWS::Lambda::Function')[logicalId(synth.stack.endpoints[provider.id]!.function)]!;
    expect(fn.Properties.Environment.Variables[ENV.deliveryBucket]).toBeUndefined();
  });

  it('the redrive: list only under parked/, read and delete only parked/*, write only claims/*; the ledger and the bus', () => {
    const redrive = synth.stack.redrive!;
    const statements = statementsOfRole(synth.template, logicalId(redrive.function.role!));
    const s3 = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('s3:')));
    expect(s3).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucketId(), 'Arn'] }, Condition: { StringLike: { 's3:prefix': ['parked/*'] } } }),
        expect.objectContaining({ Action: ['s3:DeleteObject', 's3:GetObject'], Resource: objectArn('parked/*') }),
        expect.objectContaining({ Action: 's3:PutObject', Resource: objectArn('claims/*') }),
      ]),
    );
    expect(s3).toHaveLength(3);
    const actions = statements.flatMap((s) => asList(s.Action)).sort();
    expect(actions).toEqual(
      ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'events:PutEvents', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject'].sort(),
    );
  });
});

describe('the scheduled redrive', () => {
  it(`a rule runs the redrive function every ${REDRIVE_SCHEDULE_MINUTES} minutes, with the bucket, table and bus it needs`, () => {
    const redrive = synth.stack.redrive!;
    const rule = resources('AWS::Events::Rule')[logicalId(redrive.schedule)]!;
    expect(rule.Properties.ScheduleExpression).toBe(`rate(${REDRIVE_SCHEDULE_MINUTES} minutes)`);
    expect(rule.Properties.State).toBe('ENABLED');
    expect(referencedIds(rule.Properties.Targets)).toContain(logicalId(redrive.function));
    const fn = resources('AWS::Lambda::Function')[logicalId(redrive.function)]!;
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [ENV.deliveryBucket]: { Ref: bucketId() },
      [ENV.dedupeTable]: { Ref: logicalId(synth.stack.dedupe!.table) },
      [ENV.eventBusName]: { Ref: logicalId(synth.stack.eventBus!) },
      [ENV.eventSink]: 'eventbridge',
    });
    expect(fn.Properties.Timeout).toBe(300);
    // EventBridge may invoke it.
    synth.template.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'events.amazonaws.com', FunctionName: { 'Fn::GetAtt': [logicalId(redrive.function), 'Arn'] } });
  });

  it('an alarm fires when a redrive run fails, notifying the alarm topic', () => {
    const alarm = resources('AWS::CloudWatch::Alarm')[logicalId(synth.stack.redrive!.errorsAlarm)]!;
    expect(alarm.Properties).toMatchObject({ MetricName: 'Errors', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', AlarmActions: [{ Ref: logicalId(synth.stack.alarmTopic.topic) }] });
  });
});

describe('the parked-delivery alarm', () => {
  it.each(webhooks.map((p) => [p.id, p] as const))('%s: every request logged with outcome "parked" counts; one in 5 minutes alarms, notifying the topic', (_id, provider) => {
    const endpoint = synth.stack.endpoints[provider.id]!;
    const filters = Object.values(resources('AWS::Logs::MetricFilter')).filter((f) => f.Properties.MetricTransformations[0].MetricName === `${provider.id}.ParkedDeliveries`);
    expect(filters).toHaveLength(1);
    expect(filters[0]!.Properties.FilterPattern).toBe('{ $.outcome = "parked" }');
    expect(referencedIds(filters[0]!.Properties.LogGroupName)).toEqual([logicalId(endpoint.logGroup)]);
    const alarm = resources('AWS::CloudWatch::Alarm')[logicalId(endpoint.alarms.parkedDeliveries!)]!;
    expect(alarm.Properties).toMatchObject({
      MetricName: `${provider.id}.ParkedDeliveries`,
      Threshold: 1,
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(synth.stack.alarmTopic.topic) }],
      AlarmDescription: expect.stringContaining(`parked/${provider.id}/`),
    });
  });

  it('lookup providers have no parked-delivery alarm', () => {
    for (const provider of lookups) expect(synth.stack.endpoints[provider.id]!.alarms.parkedDeliveries).toBeUndefined();
  });
});
