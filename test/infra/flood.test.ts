import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_THRESHOLDS } from '../../infra/constructs/provider-endpoint.js';
import { DEFAULT_SETTINGS, settingsFromContext, type DeploymentSettings } from '../../infra/settings.js';
import { PROVIDER_IDS, PROVIDERS, reservedConcurrencyOf, type ProviderDefinition } from '../../shared/providers.js';
import { logicalId, referencedIds, synthStack, type Synthesised } from './support.js';

/**
 * #13, flood-proof by default: reserved concurrency per function from the registry (and its context
 * override), a throttle per route on the HTTP API stage, and the alarms on function-URL requests and
 * on signing secrets that are stale past the ceiling or misconfigured.
 */

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

let synth: Synthesised;
beforeAll(() => {
  synth = synthStack();
});

const providers = PROVIDER_IDS.map((id) => PROVIDERS[id] as ProviderDefinition);
const resources = (s: Synthesised, type: string) => s.template.findResources(type) as Record<string, Resource>;

function settings(context: Record<string, unknown>): DeploymentSettings {
  const parsed = settingsFromContext(context);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.settings;
}

function functionOf(s: Synthesised, provider: ProviderDefinition): Resource {
  return resources(s, 'AWS::Lambda::Function')[logicalId(s.stack.endpoints[provider.id]!.function)]!;
}

describe('reserved concurrency (registry default, -c concurrency.<id>=N)', () => {
  it.each(providers.map((p) => [p.id, reservedConcurrencyOf(p), p] as const))('%s: reserved concurrency %i from the registry', (_id, reserved, provider) => {
    expect(functionOf(synth, provider).Properties.ReservedConcurrentExecutions).toBe(reserved);
  });

  it('-c concurrency.buddy=3 changes Buddy’s only; none leaves Helper unreserved', () => {
    const s = synthStack({ settings: settings({ 'concurrency.buddy': '3', 'concurrency.helper': 'none' }) });
    expect(functionOf(s, PROVIDERS.buddy).Properties.ReservedConcurrentExecutions).toBe(3);
    expect(functionOf(s, PROVIDERS.helper).Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(functionOf(s, PROVIDERS.talki).Properties.ReservedConcurrentExecutions).toBe(reservedConcurrencyOf(PROVIDERS.talki));
  });

  it('a bad value or an unknown provider fails synth with a message', () => {
    const parsed = settingsFromContext({ 'concurrency.buddy': '0', 'concurrency.nope': '5', 'concurrency.talki': 'lots' });
    expect(parsed.ok).toBe(false);
    const errors = parsed.ok ? '' : parsed.errors.join('\n');
    expect(errors).toMatch(/concurrency\.buddy: expected a positive integer/);
    expect(errors).toMatch(/concurrency\.nope: unknown provider/);
    expect(errors).toMatch(/concurrency\.talki: expected a positive integer/);
  });
});

describe('per-route throttling on the HTTP API stage', () => {
  const stageOf = (s: Synthesised) => Object.values(resources(s, 'AWS::ApiGatewayV2::Stage'))[0]!;

  it('every registry route has its own limit, below the stage’s, so one platform’s flood cannot starve another’s route', () => {
    const stage = stageOf(synth);
    const keys = providers.flatMap((p) => p.routes.map((r) => `${r.method} ${r.path}`)).sort();
    expect(Object.keys(stage.Properties.RouteSettings).sort()).toEqual(keys);
    for (const key of keys) {
      expect(stage.Properties.RouteSettings[key]).toEqual({
        ThrottlingRateLimit: DEFAULT_SETTINGS.routeThrottle.rateLimit,
        ThrottlingBurstLimit: DEFAULT_SETTINGS.routeThrottle.burstLimit,
      });
    }
    expect(DEFAULT_SETTINGS.routeThrottle.rateLimit).toBeLessThan(DEFAULT_SETTINGS.throttle.rateLimit);
    expect(DEFAULT_SETTINGS.routeThrottle.burstLimit).toBeLessThan(DEFAULT_SETTINGS.throttle.burstLimit);
  });

  it('the stage is created after its routes (API Gateway refuses settings for a route key that does not exist yet)', () => {
    const stage = stageOf(synth);
    const routeIds = Object.keys(resources(synth, 'AWS::ApiGatewayV2::Route'));
    for (const id of routeIds) expect(stage.DependsOn).toContain(id);
  });

  it('-c routeRateLimit / routeBurstLimit change it; a route limit above the stage’s is refused', () => {
    const s = synthStack({ settings: settings({ routeRateLimit: '20', routeBurstLimit: '40' }) });
    expect(stageOf(s).Properties.RouteSettings['POST /buddy/identity']).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
    const parsed = settingsFromContext({ apiRateLimit: '10', routeRateLimit: '20' });
    expect(parsed.ok ? [] : parsed.errors).toEqual([expect.stringMatching(/routeRateLimit: 20 is above the stage's apiRateLimit \(10\)/)]);
    // A lower stage limit alone pulls the route default down with it.
    expect(settings({ apiRateLimit: '10', apiBurstLimit: '20' }).routeThrottle).toEqual({ rateLimit: 10, burstLimit: 20 });
  });
});

describe('new alarms', () => {
  const alarms = (s: Synthesised) => Object.values(resources(s, 'AWS::CloudWatch::Alarm'));
  const named = (s: Synthesised, suffix: string) => alarms(s).filter((a) => String(a.Properties.AlarmName).endsWith(suffix));

  it.each(providers.map((p) => [p.id, p] as const))('%s: function-URL requests per minute (UrlRequestCount, Sum, 60 s) against its function', (id, provider) => {
    const [alarm] = named(synth, `-${id}-function-url-requests`);
    expect(alarm?.Properties).toMatchObject({
      MetricName: 'UrlRequestCount',
      Namespace: 'AWS/Lambda',
      Statistic: 'Sum',
      Period: 60,
      Threshold: DEFAULT_ALARM_THRESHOLDS.functionUrlRequestsPerMinute,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    const dimension = alarm!.Properties.Dimensions.find((d: { Name: string }) => d.Name === 'FunctionName');
    expect(referencedIds(dimension.Value)).toEqual([logicalId(synth.stack.endpoints[provider.id]!.function)]);
    expect(alarm!.Properties.AlarmActions).toHaveLength(1);
  });

  it.each(providers.map((p) => [p.id] as const))('%s: a stale signing secret past the ceiling, and a misconfigured one, each raise an alarm from the function’s log', (id) => {
    const filters = Object.values(resources(synth, 'AWS::Logs::MetricFilter'));
    for (const [suffix, outcome] of [
      ['signing-secret-stale', 'secret_stale_expired'],
      ['signing-secret-misconfigured', 'secret_misconfigured'],
    ] as const) {
      const [alarm] = named(synth, `-${id}-${suffix}`);
      expect(alarm?.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      const filter = filters.find((f) => f.Properties.MetricTransformations[0].MetricName === alarm!.Properties.MetricName);
      expect(filter?.Properties.FilterPattern).toBe(`{ $.outcome = "${outcome}" }`);
    }
  });

  it('SECRETS_MAX_STALE_SECONDS: -c secretsMaxStaleSeconds for every function, env.<id>.SECRETS_MAX_STALE_SECONDS for one', () => {
    const s = synthStack({ settings: settings({ secretsMaxStaleSeconds: '3600', 'env.talki.SECRETS_MAX_STALE_SECONDS': '600' }) });
    expect(functionOf(s, PROVIDERS.buddy).Properties.Environment.Variables.SECRETS_MAX_STALE_SECONDS).toBe('3600');
    expect(functionOf(s, PROVIDERS.talki).Properties.Environment.Variables.SECRETS_MAX_STALE_SECONDS).toBe('600');
    expect(functionOf(synth, PROVIDERS.buddy).Properties.Environment.Variables.SECRETS_MAX_STALE_SECONDS).toBeUndefined(); // the code's 24 h default
    expect(settingsFromContext({ secretsMaxStaleSeconds: 'a day' }).ok).toBe(false);
  });
});
