import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

/**
 * What the on-call commands (replay, smoke) share: the deployed stack's outputs, read once with
 * DescribeStacks, and small helpers for their command lines.
 */
export const DEFAULT_STACK_NAME = 'SignedCallbackReceivers';

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** The stack's outputs by key, or why they could not be read (no such stack, no credentials, ...). */
export async function readStackOutputs(client: CloudFormationClient, stackName: string): Promise<Outcome<Record<string, string>>> {
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = answer.Stacks?.[0];
    if (!stack) return { ok: false, error: `stack ${stackName} not found` };
    const outputs: Record<string, string> = {};
    for (const output of stack.Outputs ?? []) if (output.OutputKey && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
    return { ok: true, value: outputs };
  } catch (error) {
    return { ok: false, error: `cannot read stack ${stackName}: ${awsErrorText(error)}` };
  }
}

/** `Name: message` of an SDK error, for a human; never a request or a response body. */
export function awsErrorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** An instant with an explicit zone (`Z` or `±hh:mm`): on-call windows must not depend on the laptop's time zone. */
export function parseInstant(text: string): Outcome<Date> {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text.trim())) {
    return { ok: false, error: `"${text}" is not an ISO 8601 time with a zone, e.g. 2026-12-01T09:30:00Z or 2026-12-01T10:30:00+01:00` };
  }
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? { ok: false, error: `"${text}" is not a valid time` } : { ok: true, value: new Date(ms) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
