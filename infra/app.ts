import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { settingsFromContext } from './settings.js';
import { SignedCallbacksStack, type SignedCallbacksStackProps } from './stack.js';

/**
 * The CDK app `cdk.json` runs (`npx tsx infra/app.ts`). Environment-agnostic: no account or region
 * lookups, so `cdk synth` needs neither credentials nor network; `cdk deploy` takes both from your
 * AWS profile. cdk-nag's AwsSolutions and Serverless packs run as CDK policy-validation plugins:
 * an unacknowledged error fails the synth.
 */
export function buildApp(
  app: App = new App(),
  overrides: Pick<SignedCallbacksStackProps, 'functionCode' | 'alarmThresholds'> = {},
): { app: App; stack: SignedCallbacksStack } {
  const parsed = settingsFromContext(app.node.getAllContext());
  if (!parsed.ok) throw new Error(`Invalid CDK context:\n  ${parsed.errors.join('\n  ')}`);
  const stackName = app.node.tryGetContext('stackName');
  const stack = new SignedCallbacksStack(app, typeof stackName === 'string' && stackName.length > 0 ? stackName : 'SignedCallbackReceivers', {
    ...overrides,
    settings: parsed.settings,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}

// Run only as the entry point, so tests can import buildApp without synthesising twice.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildApp().app.synth();
}
