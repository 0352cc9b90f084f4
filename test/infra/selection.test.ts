import { beforeAll, describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app.js';
import type { SignedCallbacksStack } from '../../infra/stack.js';
import { ENV } from '../../shared/config.js';
import { asList, INLINE_CODE, logicalId, statementsOfRole, testApp } from './support.js';

const TALKI_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/talki-backend-connect-AbC123';

/** The app as `cdk synth -c ...` builds it, with inline code instead of bundles. */
function appWith(context: Record<string, unknown>): { stack: SignedCallbacksStack; template: Template } {
  const { stack } = buildApp(testApp(context), { functionCode: () => INLINE_CODE });
  return { stack, template: Template.fromStack(stack) };
}

describe('-c providers=buddy,talki -c secretArn.talki=<arn> -c env.talki.TALKI_USER_TOKEN_FIELD=visitorId', () => {
  let stack: SignedCallbacksStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = appWith({ providers: 'buddy,talki', 'secretArn.talki': TALKI_ARN, 'env.talki.TALKI_USER_TOKEN_FIELD': 'visitorId' }));
  });

  it('deploys only the selected providers, and no webhook resources for a lookup-only selection', () => {
    expect(Object.keys(stack.endpoints).sort()).toEqual(['buddy', 'talki']);
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::Lambda::Url', 2);
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    template.resourceCountIs('AWS::Events::EventBus', 0);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
  });

  it('talki uses the imported secret: none created, env and the read grant name its ARN', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1); // buddy's only
    const talki = stack.endpoints.talki!;
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(talki.function)] as { Properties: { Environment: { Variables: Record<string, unknown> }; Role: unknown } };
    expect(fn.Properties.Environment.Variables[ENV.signingSecretId]).toBe(TALKI_ARN);
    expect(fn.Properties.Environment.Variables[ENV.talkiUserTokenField]).toBe('visitorId');
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const secretStatements = statementsOfRole(template, roleId).filter((s) => asList(s.Action).some((a) => a.startsWith('secretsmanager:')));
    expect(secretStatements).toEqual([expect.objectContaining({ Resource: TALKI_ARN })]);
    expect(template.findOutputs('TalkiSecretName').TalkiSecretName!.Value).toBe('prod/talki-backend-connect');
  });
});

describe('-c env.talki.NODE_OPTIONS=--enable-source-maps', () => {
  it('turns source-mapped stack traces on for that function only (the map ships in every asset)', () => {
    const { stack, template } = appWith({ providers: 'buddy,talki', 'env.talki.NODE_OPTIONS': '--enable-source-maps' });
    const variables = (id: 'buddy' | 'talki') =>
      (template.findResources('AWS::Lambda::Function')[logicalId(stack.endpoints[id]!.function)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties
        .Environment.Variables;
    expect(variables('talki').NODE_OPTIONS).toBe('--enable-source-maps');
    expect(variables('buddy')).not.toHaveProperty('NODE_OPTIONS');
  });
});

describe('-c providers=bullseye', () => {
  it('a webhook-only selection has the bus, its archive, the de-duplication table, the delivery bucket and the redrive, no customers table', () => {
    const { stack, template } = appWith({ providers: 'bullseye' });
    expect(stack.customers).toBeUndefined();
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::Events::Archive', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual(
      ['AlarmTopicArn', 'BullseyeBillingApiUrl', 'BullseyeBillingFunctionUrl', 'BullseyeIdentificationApiUrl', 'BullseyeIdentificationFunctionUrl', 'BullseyeSecretName', 'DedupeTableName', 'DeliveryBucketName', 'EventBusName', 'WebhookArchiveName'].sort(),
    );
  });
});

describe('invalid context', () => {
  it('fails the synth with every problem listed', () => {
    expect(() => buildApp(testApp({ providers: 'buddy,nope', logRetentionDays: '8' }), { functionCode: () => INLINE_CODE })).toThrow(
      /Invalid CDK context:[\s\S]*unknown provider "nope"[\s\S]*logRetentionDays/,
    );
  });
});
