import { describe, expect, it } from 'vitest';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { PROVIDER_IDS } from '../../shared/providers.js';
import { customerApiUrlProblem, DEFAULT_SETTINGS, settingsFromContext } from '../../infra/settings.js';
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

describe('customerApiUrl / customerApiTokenSecretArn (the HTTP customer directory, shared/customers/from-env.ts)', () => {
  const URL_ = 'https://users.internal.example.com';
  const TOKEN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/users-api-token-Zz9Yy8';
  const errorsOf = (context: Record<string, unknown>): string => {
    const result = settingsFromContext(context);
    expect(result.ok).toBe(false);
    return result.ok ? '' : result.errors.join('\n');
  };

  it('default: the DynamoDB directory (the stack creates the customers table)', () => {
    expect(DEFAULT_SETTINGS.customerDirectory).toEqual({ kind: 'dynamodb' });
  });

  it('customerApiUrl alone selects the HTTP directory without a token', () => {
    expect(settingsFromContext({ customerApiUrl: URL_ })).toMatchObject({ ok: true, settings: { customerDirectory: { kind: 'http', url: URL_ } } });
    const result = settingsFromContext({ customerApiUrl: URL_ });
    expect(result.ok && result.settings.customerDirectory).not.toHaveProperty('tokenSecretArn');
  });

  it('with customerApiTokenSecretArn: the complete ARN is kept; a path prefix and plain http are accepted as http.ts accepts them', () => {
    expect(settingsFromContext({ customerApiUrl: `${URL_}/v1/`, customerApiTokenSecretArn: TOKEN_ARN })).toEqual({
      ok: true,
      settings: { ...DEFAULT_SETTINGS, customerDirectory: { kind: 'http', url: `${URL_}/v1/`, tokenSecretArn: TOKEN_ARN } },
    });
    expect(settingsFromContext({ customerApiUrl: ' http://10.0.0.12:8080 ' })).toMatchObject({ ok: true, settings: { customerDirectory: { url: 'http://10.0.0.12:8080' } } });
  });

  it.each([
    ['not a URL', 'users.internal.example.com', /expected an http\(s\) URL/],
    ['empty', '', /expected an http\(s\) URL/],
    ['another scheme', 'ftp://users.internal.example.com', /not ftp:/],
    ['credentials in the URL (they would sit in the function configuration)', 'https://svc:pw@users.internal.example.com', /must not carry credentials/],
    ['a query (the functions append paths)', 'https://users.internal.example.com/?v=1', /query or fragment/],
    ['not a string', 42, /expected an http\(s\) URL/],
  ])('invalid customerApiUrl: %s', (_what, value, message) => {
    const errors = errorsOf({ customerApiUrl: value });
    expect(errors).toMatch(/^customerApiUrl: /m);
    expect(errors).toMatch(message);
    expect(customerApiUrlProblem(value)).toBeDefined();
  });

  it.each([
    ['a secret name, not an ARN', 'prod/users-api-token'],
    ['a partial ARN (no 6-character suffix)', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/users-api-token'],
    ['another service', 'arn:aws:ssm:eu-west-1:123456789012:parameter/users-api-token'],
    ['a wildcard', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/*'],
  ])('invalid customerApiTokenSecretArn: %s', (_what, arn) => {
    expect(errorsOf({ customerApiUrl: URL_, customerApiTokenSecretArn: arn })).toMatch(/customerApiTokenSecretArn: expected the secret's complete ARN/);
  });

  it('reports every customer-API mistake at once, with the others', () => {
    const errors = errorsOf({ customerApiUrl: 'nope', customerApiTokenSecretArn: 'nope', alarmEmail: 'nobody' });
    expect(errors).toMatch(/customerApiUrl: expected an http\(s\) URL/);
    expect(errors).toMatch(/customerApiTokenSecretArn: expected the secret's complete ARN/);
    expect(errors).toMatch(/alarmEmail/);
  });

  it('a token secret without customerApiUrl is a mistake, not a silent no-op', () => {
    expect(errorsOf({ customerApiTokenSecretArn: TOKEN_ARN })).toMatch(/customerApiTokenSecretArn: only used with customerApiUrl/);
  });

  it('customerApiUrl with only webhook providers deployed is a mistake (nothing would read it)', () => {
    expect(errorsOf({ providers: 'bullseye,buddystat', customerApiUrl: URL_ })).toMatch(/customerApiUrl: no lookup provider is deployed/);
  });
});
