import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { PROJECT_ROOT } from '../../infra/constructs/function-bundle.js';
import { SignedCallbacksStack, type SignedCallbacksStackProps } from '../../infra/stack.js';

/** The feature flags and context `cdk synth` runs with, so tests synthesise what the CLI would. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

/** Stands in for the esbuild bundle in assertions that are not about the bundle (bundle.test.ts bundles for real). */
export const INLINE_CODE = Code.fromInline('export const handler = async () => ({ statusCode: 503 });');

export interface Synthesised {
  readonly app: App;
  readonly stack: SignedCallbacksStack;
  readonly template: Template;
}

/**
 * An App with the cdk.json context. CDK's built-in CloudFormation schema validation costs seconds
 * per synth, so only nag.test.ts (which synthesises as the CLI does) keeps it on.
 */
export function testApp(context: Record<string, unknown> = {}, outdir?: string): App {
  return new App({ context: { ...cdkJsonContext(), ...context }, builtinCloudFormationValidation: false, ...(outdir ? { outdir } : {}) });
}

/** One App + stack with the cdk.json context; inline code unless `bundle` is set. */
export function synthStack(props: SignedCallbacksStackProps = {}, options: { context?: Record<string, unknown>; bundle?: boolean } = {}): Synthesised {
  const app = testApp(options.context);
  const stack = new SignedCallbacksStack(app, 'SignedCallbackReceivers', {
    ...(options.bundle ? {} : { functionCode: () => INLINE_CODE }),
    ...props,
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The logical id CloudFormation knows a construct's resource by. */
export function logicalId(construct: IConstruct): string {
  const child = construct.node.defaultChild;
  const element = child instanceof CfnElement ? child : construct instanceof CfnElement ? construct : undefined;
  if (!element) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(element);
}

export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

export const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every statement of every AWS::IAM::Policy attached to the role with this logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  const policies = template.findResources('AWS::IAM::Policy') as Record<string, { Properties: { Roles: unknown[]; PolicyDocument: { Statement: PolicyStatementJson[] } } }>;
  return Object.values(policies)
    .filter((p) => p.Properties.Roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId })))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** The logical ids a policy resource refers to (`Ref` and `Fn::GetAtt`), anywhere inside it. */
export function referencedIds(value: unknown): string[] {
  const ids: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === 'string') ids.push(o.Ref);
      const getAtt = o['Fn::GetAtt'];
      if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') ids.push(getAtt[0]);
      Object.values(o).forEach(walk);
    }
  };
  walk(value);
  return ids;
}
