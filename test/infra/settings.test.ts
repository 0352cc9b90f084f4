import { describe, expect, it } from 'vitest';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { PROVIDER_IDS } from '../../shared/providers.js';
import { DEFAULT_SETTINGS, settingsFromContext } from '../../infra/settings.js';
import { secretNameFromArn } from '../../infra/constructs/provider-endpoint.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:talki/signing-AbC123';

describe('settingsFromContext (CDK context -> deployment settings)', () => {
  it('defaults: every registry provider, no imported secrets, 90-day logs, stage throttling', () => {
    const result = settingsFromContext({});
    expect(result).toEqual({ ok: true, settings: DEFAULT_SETTINGS });
    expect(DEFAULT_SETTINGS.providers).toEqual(PROVIDER_IDS);
  });

  it('providers=buddy,talki selects a subset, in registry order, without duplicates', () => {
    const result = settingsFromContext({ providers: 'talki, buddy,talki' });
    expect(result.ok && result.settings.providers).toEqual(['buddy', 'talki']);
    expect(settingsFromContext({ providers: ['helper'] })).toMatchObject({ ok: true, settings: { providers: ['helper'] } });
  });

  it('secretArn.<id> and secretArns import existing secrets by complete ARN', () => {
    expect(settingsFromContext({ 'secretArn.talki': ARN })).toMatchObject({ ok: true, settings: { secretArns: { talki: ARN } } });
    expect(settingsFromContext({ secretArns: JSON.stringify({ talki: ARN }) })).toMatchObject({ ok: true, settings: { secretArns: { talki: ARN } } });
  });

  it('env.<id>.<NAME> sets a tunable environment variable for one provider', () => {
    const result = settingsFromContext({ 'env.talki.TALKI_USER_TOKEN_FIELD': 'visitorId', 'env.buddystat.SIGNATURE_HEADER': 'X-Signature' });
    expect(result).toMatchObject({
      ok: true,
      settings: { providerEnvironment: { talki: { TALKI_USER_TOKEN_FIELD: 'visitorId' }, buddystat: { SIGNATURE_HEADER: 'X-Signature' } } },
    });
  });

  it('logRetentionDays, apiRateLimit, apiBurstLimit and alarmEmail are read from strings as -c passes them', () => {
    const result = settingsFromContext({ logRetentionDays: '365', apiRateLimit: '20', apiBurstLimit: '40', alarmEmail: 'ops@example.com' });
    expect(result).toMatchObject({ ok: true, settings: { logRetention: RetentionDays.ONE_YEAR, throttle: { rateLimit: 20, burstLimit: 40 }, alarmEmail: 'ops@example.com' } });
  });

  it('reports every mistake at once instead of deploying something else', () => {
    const result = settingsFromContext({
      providers: 'buddy,zendesk',
      'secretArn.talki': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:talki', // partial ARN
      'secretArn.helper': ARN, // helper is not deployed
      'env.talki.SIGNING_SECRET_ID': 'x', // set by the stack, not tunable
      logRetentionDays: '42',
      apiRateLimit: '-1',
      alarmEmail: 'nobody',
    });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.join('\n')).toMatch(/unknown provider "zendesk"/);
    expect(errors.join('\n')).toMatch(/secretArn\.talki: expected the secret's complete ARN/);
    expect(errors.join('\n')).toMatch(/secretArn\.helper: helper is not among the deployed providers/);
    expect(errors.join('\n')).toMatch(/SIGNING_SECRET_ID is not tunable/);
    expect(errors.join('\n')).toMatch(/logRetentionDays/);
    expect(errors.join('\n')).toMatch(/apiRateLimit/);
    expect(errors.join('\n')).toMatch(/alarmEmail/);
  });

  it('secretNameFromArn keeps dashes inside the name and drops the 6-character suffix', () => {
    expect(secretNameFromArn(ARN)).toBe('talki/signing');
    expect(secretNameFromArn('arn:aws:secretsmanager:us-east-1:123456789012:secret:my-stack/talki/signing-secret-Xy12Zq')).toBe('my-stack/talki/signing-secret');
  });
});
