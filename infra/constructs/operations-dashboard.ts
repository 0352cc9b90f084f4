import { Duration, Stack } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, Metric, TextWidget, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterPattern, MetricFilter, type JsonPattern } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { replayRuleOf, type ProviderDefinition } from '../../shared/providers.js';
import type { CallbackApi } from './callback-api.js';
import type { ProviderEndpoint } from './provider-endpoint.js';

/**
 * The outcome words the request log line writes (shared/handler.ts, shared/webhook.ts,
 * shared/events/forward.ts, the functions' logic), grouped into what an on-call engineer asks
 * about. Counted by CloudWatch Logs metric filters on each function's log group: no code in the
 * function, so nothing on its bundle or its cold start (docs/deploy.md, "Why metric filters").
 */
export interface OutcomeMetric {
  /** The metric is `<provider>.<name>` in the stack's namespace. */
  readonly name: string;
  /** The dashboard's legend. */
  readonly label: string;
  /** Which providers have such requests at all. */
  readonly appliesTo: (provider: ProviderDefinition) => boolean;
  /** Matched against request lines only (those with a numeric `status`). */
  readonly pattern: JsonPattern;
}

const outcomeIs = (...words: string[]): JsonPattern => FilterPattern.any(...words.map((word) => FilterPattern.stringValue('$.outcome', '=', word)));

/**
 * Outcomes decided before a signature verified (or instead of verifying it), and the replay
 * window's verdicts: every other outcome on a request line is a verified request.
 */
export const UNVERIFIED_OUTCOMES = [
  'malformed_event',
  'body_too_large',
  'unknown_route',
  'method_not_allowed',
  'secret_not_configured',
  'secrets_unavailable',
  'bad_signature_*',
  'missing_timestamp',
  'malformed_timestamp',
  'stale_timestamp',
  'internal_error',
  'provider_not_configured',
] as const;

const everyProvider = () => true;
const webhooks = (provider: ProviderDefinition) => provider.kind === 'webhook';

export const OUTCOME_METRICS: readonly OutcomeMetric[] = [
  {
    name: 'Verified',
    label: 'verified',
    appliesTo: everyProvider,
    pattern: FilterPattern.all(...UNVERIFIED_OUTCOMES.map((word) => FilterPattern.stringValue('$.outcome', '!=', word))),
  },
  { name: 'RejectedSignature', label: 'rejected signature', appliesTo: everyProvider, pattern: outcomeIs('bad_signature_*') },
  {
    name: 'ReplayedOrStale',
    label: 'replayed/stale',
    appliesTo: (provider) => replayRuleOf(provider) !== undefined,
    pattern: outcomeIs('stale_timestamp', 'missing_timestamp', 'malformed_timestamp'),
  },
  // `*`: the test and unknown-type variants (`duplicate_test`, `forwarded_unknown_type`) count too.
  { name: 'Duplicate', label: 'duplicate', appliesTo: webhooks, pattern: outcomeIs('duplicate*') },
  { name: 'Forwarded', label: 'forwarded', appliesTo: webhooks, pattern: outcomeIs('forwarded*') },
  // Deliveries the bus did not take, kept in S3 for a redrive (issue #12).
  { name: 'Parked', label: 'parked', appliesTo: webhooks, pattern: outcomeIs('parked*') },
  { name: 'PutEventsFailures', label: 'PutEvents failed', appliesTo: webhooks, pattern: outcomeIs('sink_failed', 'sink_timeout') },
];

/** The log line the handler writes once per request carries a numeric status; no other line does. */
const REQUEST_LINE = FilterPattern.numberValue('$.status', '>', 0);

const PERIOD = Duration.minutes(5);

export interface OperationsDashboardProps {
  readonly endpoints: readonly ProviderEndpoint[];
  readonly api: CallbackApi;
  /** The namespace the stack's metric filters publish to (ProviderEndpoint's alarms use it too). */
  readonly metricNamespace: string;
}

/** What the dashboard shows for one provider, also handy for tests. */
export interface ProviderPanel {
  readonly provider: ProviderDefinition;
  readonly outcomes: Readonly<Record<string, Metric>>;
  readonly widgets: readonly GraphWidget[];
}

/**
 * One CloudWatch dashboard, `<stack>-operations`: a row for the API stage, then a row per provider:
 * requests by outcome (the log line's words), handler latency p50/p99 next to Lambda's duration,
 * throttles and concurrency, and Secrets Manager refreshes with (webhooks) the bus's PutEvents failures.
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly panels: readonly ProviderPanel[];

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    const namespace = props.metricNamespace;
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${stackName}-operations`,
      defaultInterval: Duration.hours(24),
    });

    const apiMetric = (metricName: string, label: string) => new Metric({ namespace, metricName, statistic: 'Sum', period: PERIOD, label });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${stackName}\nRequests per 5 minutes, from each function's request log line (\`outcome\`, \`status\`, \`latencyMs\`). On-call steps: docs/deploy.md, "On call".`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'HTTP API stage: throttled (429), every route',
        // Published by CallbackApi's access-log filter.
        left: [apiMetric('api.ThrottledRequests', '429 throttled')],
        width: 24,
        height: 4,
      }),
    );

    this.panels = props.endpoints.map((endpoint) => this.providerRow(endpoint, namespace));
  }

  private providerRow(endpoint: ProviderEndpoint, namespace: string): ProviderPanel {
    const { provider } = endpoint;
    const filtered = (name: string, pattern: JsonPattern, options: { metricValue?: string; statistic?: string; label: string }): Metric =>
      new MetricFilter(this, `${provider.id}${name}Filter`, {
        logGroup: endpoint.logGroup,
        metricNamespace: namespace,
        metricName: `${provider.id}.${name}`,
        filterPattern: FilterPattern.all(REQUEST_LINE, pattern),
        metricValue: options.metricValue ?? '1',
      }).metric({ statistic: options.statistic ?? 'Sum', period: PERIOD, label: options.label });

    const outcomes: Record<string, Metric> = {};
    for (const outcome of OUTCOME_METRICS) {
      if (outcome.appliesTo(provider)) outcomes[outcome.name] = filtered(outcome.name, outcome.pattern, { label: outcome.label });
    }
    // Published by ProviderEndpoint's ServerErrorAnswersFilter (every request line with status >= 500).
    const answered5xx = new Metric({ namespace, metricName: `${provider.id}.ServerErrorAnswers`, statistic: 'Sum', period: PERIOD, label: '5xx' });
    const { PutEventsFailures: putEventsFailures, ...requestOutcomes } = outcomes;

    // One filter feeds both percentiles: CloudWatch keeps each logged value.
    const latencyFilter = new MetricFilter(this, `${provider.id}LatencyFilter`, {
      logGroup: endpoint.logGroup,
      metricNamespace: namespace,
      metricName: `${provider.id}.LatencyMs`,
      filterPattern: REQUEST_LINE,
      metricValue: '$.latencyMs',
    });
    const latency = (statistic: string) => latencyFilter.metric({ statistic, period: PERIOD, label: `handler ${statistic}` });

    const secretsLoaded = new MetricFilter(this, `${provider.id}SecretRefreshesFilter`, {
      logGroup: endpoint.logGroup,
      metricNamespace: namespace,
      metricName: `${provider.id}.SecretRefreshes`,
      // shared/secrets/cache.ts writes one such line per fetch from Secrets Manager.
      filterPattern: outcomeIs('secret_loaded'),
      metricValue: '1',
    }).metric({ statistic: 'Sum', period: PERIOD, label: 'Secrets Manager refreshes' });
    const secretsFailed = new MetricFilter(this, `${provider.id}SecretFailuresFilter`, {
      logGroup: endpoint.logGroup,
      metricNamespace: namespace,
      metricName: `${provider.id}.SecretRefreshFailures`,
      filterPattern: outcomeIs('secret_stale_served', 'secret_unavailable'),
      metricValue: '1',
    }).metric({ statistic: 'Sum', period: PERIOD, label: 'Secrets Manager failures' });

    const fn = endpoint.function;
    const routes = provider.routes.map((r) => `${r.method} ${r.path}`).join(', ');
    const widgets = [
      graph(`${provider.title}: requests by outcome`, [...Object.values(requestOutcomes), answered5xx]),
      graph(`${provider.id}: latency (ms)`, [latency('p50'), latency('p99'), fn.metricDuration({ statistic: 'p99', period: PERIOD, label: 'Lambda duration p99' })]),
      graph(`${provider.id}: throttles and concurrency`, [fn.metricThrottles({ statistic: 'Sum', period: PERIOD, label: 'throttles' })], [
        fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: PERIOD, label: 'concurrent executions (max)' }),
      ]),
      graph(`${provider.id}: ${putEventsFailures ? 'secrets and the bus' : 'secrets'}`, [secretsLoaded, secretsFailed, ...(putEventsFailures ? [putEventsFailures] : [])]),
    ];
    this.dashboard.addWidgets(new TextWidget({ markdown: `## ${provider.title}: ${routes}`, width: 24, height: 1 }));
    this.dashboard.addWidgets(...widgets);
    return { provider, outcomes, widgets };
  }
}

function graph(title: string, left: IMetric[], right: IMetric[] = []): GraphWidget {
  return new GraphWidget({ title, left, right, width: 6, height: 6 });
}
