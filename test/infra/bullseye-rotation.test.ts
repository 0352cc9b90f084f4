import { describe, expect, it } from 'vitest';
import { App, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../infra/app.js';
import { NAG_REASONS } from '../../infra/constructs/provider-endpoint.js';
import { settingsFromContext } from '../../infra/settings.js';
import { PROVIDER_IDS } from '../../shared/providers.js';
import { asList, cdkJsonContext, INLINE_CODE, logicalId, statementsOfRole, synthStack } from './support.js';

/** `-c bullseyeRotationDays=N` (issue #15): the rotation function, its schedule, its alarm, least privilege. */
function withRotation(context: Record<string, unknown> = {}) {
  const parsed = settingsFromContext({ bullseyeRotationDays: '30', ...context });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return synthStack({ settings: parsed.settings });
}

function smg4Reasons(root: IConstruct): string[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).filter(([id]) => id.endsWith('AwsSolutions-SMG4')).map(([, reason]) => reason)),
  );
}

describe('Bullseye automatic rotation in the stack', () => {
  it('without bullseyeRotationDays: no rotation function, schedule or API key secret', () => {
    const { stack, template } = synthStack();
    expect(stack.bullseyeRotation).toBeUndefined();
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', PROVIDER_IDS.length);
    // One function per provider, and the webhook redrive.
    template.resourceCountIs('AWS::Lambda::Function', PROVIDER_IDS.length + 1);
  });

  it('with bullseyeRotationDays=30: a schedule on Bullseye\'s signing secret, every 30 days, not on deploy', () => {
    const { stack, template } = withRotation();
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: logicalId(stack.endpoints.bullseye!.secret as unknown as IConstruct) },
      RotationLambdaARN: { 'Fn::GetAtt': [logicalId(stack.bullseyeRotation!.function), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    });
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
  });

  it('only Secrets Manager, from this account, may invoke the rotation function', () => {
    const { stack, template } = withRotation();
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [logicalId(stack.bullseyeRotation!.function), 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  it('least privilege: the rotation actions on Bullseye\'s secret, GetSecretValue on the API key secret, its own logs; nothing on *', () => {
    const { stack, template } = withRotation();
    const rotation = stack.bullseyeRotation!;
    const role = template.findResources('AWS::Lambda::Function')[logicalId(rotation.function)]!.Properties.Role['Fn::GetAtt'][0] as string;
    const statements = statementsOfRole(template, role);
    const bySid = Object.fromEntries(statements.filter((s) => s.Sid).map((s) => [s.Sid, s]));
    expect(asList(bySid.RotateBullseyeSigningSecret!.Action).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ]);
    expect(bySid.RotateBullseyeSigningSecret!.Resource).toEqual({ Ref: logicalId(stack.endpoints.bullseye!.secret as unknown as IConstruct) });
    expect(bySid.ReadPartnerApiKey).toMatchObject({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: logicalId(rotation.apiKeySecret) } });
    expect(statements.map((s) => s.Sid ?? asList(s.Action).join(',')).sort()).toEqual(['ReadPartnerApiKey', 'RotateBullseyeSigningSecret', 'logs:CreateLogStream,logs:PutLogEvents']);
    for (const s of statements) expect(JSON.stringify(s.Resource)).not.toBe('"*"');
    template.resourcePropertiesCountIs('AWS::IAM::Role', { ManagedPolicyArns: Match.anyValue() }, 0);
  });

  it('the API key has its own secret, created with a placeholder; the function knows it, the API and the receivers\' TTL', () => {
    const { stack, template } = withRotation({ 'env.bullseye.SECRETS_TTL_SECONDS': '120', bullseyeTestWebhookPath: '/partner/webhooks/send-test' });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'SignedCallbackReceivers/bullseye/partner-api-key',
      SecretString: JSON.stringify({ apiKey: 'REPLACE_WITH_apiKey' }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          BULLSEYE_API_KEY_SECRET_ID: { Ref: logicalId(stack.bullseyeRotation!.apiKeySecret) },
          BULLSEYE_API_URL: 'https://api.app.bullseye.so/api/v1',
          BULLSEYE_TEST_WEBHOOK_PATH: '/partner/webhooks/send-test',
          BULLSEYE_WEBHOOK_LOGS_PATH: '/partner/webhooks/logs',
          ROTATION_RECEIVER_TTL_SECONDS: '120',
        }),
      },
    });
    template.hasOutput('BullseyeApiKeySecretName', { Value: 'SignedCallbackReceivers/bullseye/partner-api-key' });
  });

  it('a failed rotation step raises an alarm on the alarm topic', () => {
    const { stack, template } = withRotation();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'SignedCallbackReceivers-bullseye-rotation-failed',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.bullseyeRotation!.function) } }],
      Threshold: 1,
      AlarmActions: [{ Ref: logicalId(stack.alarmTopic.topic) }],
    });
  });

  it('cdk-nag: clean; the rotation acknowledgement stays for the other platforms only, and the API key has its own', () => {
    const { app, stack } = buildApp(new App({ context: { ...cdkJsonContext(), bullseyeRotationDays: '30' } }), { functionCode: () => INLINE_CODE });
    expect(() => app.synth()).not.toThrow();
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations).toEqual([]);
    const reasons = smg4Reasons(stack);
    expect(reasons.filter((r) => r === NAG_REASONS.secretRotation)).toHaveLength(PROVIDER_IDS.length - 1);
    expect(reasons.filter((r) => r === NAG_REASONS.partnerApiKeyRotation)).toHaveLength(1);
    expect(smg4Reasons(stack.endpoints.bullseye!)).toEqual([]);
  });

  it('settings: days from 1 to 1000, only with Bullseye deployed; the API settings only with it', () => {
    expect(settingsFromContext({ bullseyeRotationDays: '7' })).toMatchObject({ ok: true, settings: { bullseyeRotation: { days: 7, api: {} } } });
    for (const days of ['0', '1001', 'monthly', '2.5']) {
      expect(settingsFromContext({ bullseyeRotationDays: days })).toMatchObject({ ok: false, errors: [expect.stringMatching(/^bullseyeRotationDays:/)] });
    }
    expect(settingsFromContext({ bullseyeRotationDays: '30', providers: 'talki' })).toMatchObject({ ok: false, errors: [expect.stringMatching(/bullseye is not among/)] });
    expect(settingsFromContext({ bullseyeApiUrl: 'https://partner.example.com/api/v1' })).toMatchObject({ ok: false, errors: [expect.stringMatching(/only used with bullseyeRotationDays/)] });
    expect(settingsFromContext({ bullseyeRotationDays: '30', bullseyeApiUrl: 'http://insecure.example.com' })).toMatchObject({ ok: false });
  });
});
