import { beforeAll, describe, expect, it } from 'vitest';
import { App, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../infra/app.js';
import { NAG_REASONS } from '../../infra/constructs/provider-endpoint.js';
import type { SignedCallbacksStack } from '../../infra/stack.js';
import { PROVIDER_IDS, PROVIDERS } from '../../shared/providers.js';
import { cdkJsonContext, INLINE_CODE, testApp } from './support.js';

/** Every acknowledgement recorded with Validations.of(construct).acknowledge(), by construct path. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
  );
}

describe('cdk-nag AwsSolutions (as the app runs it: a CDK policy-validation plugin)', () => {
  let app: App;
  let stack: SignedCallbacksStack;
  beforeAll(() => {
    // As `cdk synth` builds it (CloudFormation schema validation included); inline code instead of bundles.
    ({ app, stack } = buildApp(new App({ context: cdkJsonContext() }), { functionCode: () => INLINE_CODE }));
  });

  it('synthesises: no unacknowledged error (an error would make synth throw)', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('reports zero unacknowledged findings, errors or warnings', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges only what is argued: public routes (HMAC is the auth), the pinned runtime, platform-driven rotation, delivery-bucket prefixes and access logs', () => {
    const acks = acknowledgements(stack);
    const routeCount = PROVIDER_IDS.reduce((n, id) => n + PROVIDERS[id].routes.length, 0);
    const webhooks = PROVIDER_IDS.filter((id) => PROVIDERS[id].kind === 'webhook');
    const byId = (id: string) => acks.filter((a) => a.id === id);
    const prefixGrants = acks.filter((a) => a.id.startsWith('AwsSolutions-IAM5['));
    expect(new Set(acks.filter((a) => !prefixGrants.includes(a)).map((a) => a.id))).toEqual(
      new Set(['AwsSolutions-APIG4', 'AwsSolutions-L1', 'AwsSolutions-SMG4', 'AwsSolutions-S1']),
    );
    expect(byId('AwsSolutions-APIG4')).toHaveLength(routeCount);
    // Each provider's function, and the redrive's.
    expect(byId('AwsSolutions-L1')).toHaveLength(PROVIDER_IDS.length + 1);
    expect(byId('AwsSolutions-SMG4')).toHaveLength(PROVIDER_IDS.length);
    expect(byId('AwsSolutions-S1')).toHaveLength(1);
    // One finding per wildcard prefix: claims/<id>/ and parked/<id>/ per webhook function, parked/ and claims/ for the redrive.
    expect(prefixGrants.map((a) => a.id.replace(/<[^>]+>/, '<bucket>')).sort()).toEqual(
      [
        ...webhooks.flatMap((id) => [`AwsSolutions-IAM5[Resource::<bucket>/claims/${id}/*]`, `AwsSolutions-IAM5[Resource::<bucket>/parked/${id}/*]`]),
        'AwsSolutions-IAM5[Resource::<bucket>/claims/*]',
        'AwsSolutions-IAM5[Resource::<bucket>/parked/*]',
      ].sort(),
    );
    // Acknowledged on the single resource concerned, never on the stack or the app.
    for (const ack of acks) expect(ack.path.split('/').length).toBeGreaterThan(2);
  });

  it('every acknowledgement carries a reason a security reviewer can check', () => {
    for (const ack of acknowledgements(stack)) expect(Object.values(NAG_REASONS)).toContain(ack.reason);
    expect(NAG_REASONS.functionUrlAndRouteAuth).toMatch(/HMAC/);
    expect(NAG_REASONS.functionUrlAndRouteAuth).toMatch(/cannot sign AWS requests/);
    expect(NAG_REASONS.secretRotation).toMatch(/docs\/deploy\.md/);
    for (const reason of Object.values(NAG_REASONS)) expect(reason.length).toBeGreaterThan(150);
  });

  it('an unacknowledged finding fails the synth (so CI catches a new one)', () => {
    const { app: other, stack: otherStack } = buildApp(testApp({ providers: 'helper' }), { functionCode: () => INLINE_CODE });
    new Secret(otherStack, 'UnreviewedSecret');
    expect(() => other.synth()).toThrow(/AwsSolutions-SMG4/);
  });
});
