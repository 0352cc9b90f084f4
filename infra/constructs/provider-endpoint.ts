import { CfnOutput, Duration, Fn, RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import { HttpMethod, HttpRoute, HttpRouteKey, PayloadFormatVersion } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { MathExpression, type Alarm, type IMetric, type Metric } from 'aws-cdk-lib/aws-cloudwatch';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType, InvokeMode, LoggingFormat, type Code, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FilterPattern, LogGroup, MetricFilter, type JsonPattern, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import type { DirectoryKind } from '../../shared/customers/from-env.js';
import { reservedConcurrencyOf, type ProviderDefinition, type RouteDefinition } from '../../shared/providers.js';
import { PLACEHOLDER_PREFIX } from '../../shared/secrets/cache.js';
import { consoleSetting } from '../consoles.js';
import type { CustomerApiSetting, TunableEnvName } from '../settings.js';
import { thresholdAlarm } from './alarm-topic.js';
import type { CallbackApi } from './callback-api.js';
import { bundledCode, handlerEntry } from './function-bundle.js';
import type { CustomersTable, DedupeTable } from './tables.js';
import type { DeliveryBucket } from './delivery-bucket.js';

/** Alarm thresholds, each counted over one 5-minute period. */
export interface AlarmThresholds {
  /** Requests rejected for a bad signature or a stale timestamp: a probe, or a secret out of step after a rotation. */
  readonly rejectedSignatures: number;
  /** 5xx signals: Lambda errors, 5xx answers the handler logged, 5xx the API returned on the provider's routes. */
  readonly serverErrors: number;
  /** Lambda throttles of the provider's function. */
  readonly throttles: number;
  /**
   * Requests to the function URL in one minute. The URL has no gateway throttle in front of it (only
   * the function's reserved concurrency): a flood shows here first.
   */
  readonly functionUrlRequestsPerMinute: number;
}

export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = { rejectedSignatures: 10, serverErrors: 5, throttles: 1, functionUrlRequestsPerMinute: 600 };

const ALARM_PERIOD = Duration.minutes(5);

/**
 * Why each cdk-nag finding on a provider's resources is accepted. Kept as data so the tests can
 * check every acknowledgement carries one.
 */
export const NAG_REASONS = {
  functionUrlAndRouteAuth:
    'Deliberately unauthenticated at the gateway: the callers are third-party platforms (Buddy, Talki, Bullseye, BuddyStat, Helper) that cannot sign AWS requests or obtain JWTs. Every request is authenticated in the function by an HMAC-SHA256 signature over the raw body or query, verified in constant time against the secret in Secrets Manager, with a replay window where the platform signs a timestamp; unsigned or mis-signed requests get 401 before any data is read. Stage throttling and the rejected-signature alarm bound abuse.',
  runtime:
    'nodejs22.x is a supported Lambda runtime and the Node line this code is tested and bundled for (esbuild target node22). Moving to a newer runtime is a deliberate, tested change (one constant in infra/constructs/function-bundle.ts), not an automatic one.',
  deliveryPrefixGrant:
    'S3 object permissions can only name objects by key, so a prefix needs a wildcard: each grant is one action set on one prefix of the stack\'s own delivery bucket (a webhook function: PutObject under claims/<its provider>/ and parked/<its provider>/; the redrive: GetObject and DeleteObject under parked/, PutObject under claims/), as shared/events/store.ts lays the bucket out. No function can read, list or delete another prefix, and nothing outside the bucket is granted.',
  redriveSchedule:
    'The redrive runs on a schedule and is idempotent: a failed or dropped invocation leaves every parked delivery where it is (parked/ in the delivery bucket), and the next run, ten minutes later, tries them all again; its errors alarm notifies the alarm topic. A dead-letter queue for the function or the schedule target would only collect copies of scheduled events, which carry nothing to replay.',
  deliveryBucketAccessLogs:
    'The delivery bucket is private (all public access blocked, bucket-owner-enforced), TLS-only and encrypted, and written only by this stack\'s roles under per-provider prefixes; every write is also a request log line of the function that made it (outcome parked, or a claim check). S3 server access logs would need a second bucket that itself has no access log; enable CloudTrail S3 data events for the bucket if an audit trail of reads is required.',
  synchronousOnly:
    'The function is only ever invoked synchronously, by its function URL and by the HTTP API: the platform waits for the answer and retries on a non-2xx itself. A Lambda dead-letter queue (or an on-failure destination) receives only failed asynchronous invocations, so it would stay empty forever. Failed deliveries are visible as 5xx answers (server-errors alarm) and on the operations dashboard; events that reached the bus are archived for replay.',
  rotationSteps:
    "Secrets Manager drives the rotation: it invokes each of the four steps, records a failed step and retries the rotation itself, and the failed-rotation alarm pages on any error of this function. A Lambda dead-letter queue would only hold copies of step invocations that Secrets Manager already retries, and replaying one out of order against the secret's staging labels is not safe.",
  tracing:
    'Each request writes one JSON log line (provider, outcome, status, latency) that the alarms and the operations dashboard read. Active X-Ray tracing without instrumenting the SDK clients records only the invocation the Lambda metrics already show, and instrumenting them adds the X-Ray SDK to every bundle and its cold start. Turn it on with tracing: Tracing.ACTIVE on the function if you want service maps; it costs per trace beyond the free tier.',
  secretRotation:
    "The signing secret is issued by the third-party platform and changed only on that platform's side (its console or its own settings): a Secrets Manager rotation Lambda has no API to change it there. Rotation is operator-driven and documented per platform in docs/deploy.md; the functions accept AWSPENDING and, for an hour, AWSPREVIOUS so rotation needs no redeploy and drops no requests. Bullseye, whose secret is set through its partner API, rotates automatically with -c bullseyeRotationDays=N.",
  partnerApiKeyRotation:
    "The Bullseye partner API key is issued in the Bullseye partner account and the partner API documents no call to create or revoke keys, so no rotation Lambda can replace it. It is used only by the Bullseye rotation function; rotating it is an operator step documented in docs/deploy.md (create a key in the partner account, paste it into this secret, revoke the old key).",
} as const;

/**
 * Where a lookup provider reads customers: the stack's table (CUSTOMER_DIRECTORY=dynamodb), or the
 * team's own user API (CUSTOMER_DIRECTORY=http, shared/customers/http.ts).
 */
export type CustomerSource = { readonly kind: 'dynamodb'; readonly table: CustomersTable } | CustomerApiSetting;

export interface ProviderEndpointProps {
  /** The registry entry: routes, secret keys, time budget. */
  readonly provider: ProviderDefinition;
  readonly api: CallbackApi;
  /** Required for lookup providers. */
  readonly customers?: CustomerSource;
  /** Required for webhook providers. */
  readonly dedupe?: DedupeTable;
  /** Required for webhook providers. */
  readonly eventBus?: IEventBus;
  /** Required for webhook providers: claim-checked bodies and parked deliveries. */
  readonly deliveries?: DeliveryBucket;
  readonly alarmTopic?: ITopic;
  /** Use this existing secret (complete ARN) instead of creating one. */
  readonly secretArn?: string;
  /** A rotation function rotates the secret (Bullseye with bullseyeRotationDays): no rotation finding to acknowledge. */
  readonly rotatedAutomatically?: boolean;
  readonly logRetention: RetentionDays;
  /** The function's reserved concurrency (default: the registry's); `none` leaves it unreserved. */
  readonly reservedConcurrency?: number | 'none';
  /** Extra tunables for this function (signature header, Talki's user-token field, cache timings, NODE_OPTIONS). */
  readonly environment?: Partial<Record<TunableEnvName, string>>;
  readonly alarmThresholds?: Partial<AlarmThresholds>;
  /** CloudWatch namespace for the metrics the log filters publish. */
  readonly metricNamespace: string;
  /**
   * Deploy this code instead of bundling `functions/<id>/handler.ts` with esbuild. For tests that
   * assert on everything but the bundle; the handler must be `index.handler`.
   */
  readonly code?: Code;
}

function pascal(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** `''` for a provider's only route; otherwise a name from its event family or last path segment. */
function routeName(provider: ProviderDefinition, route: RouteDefinition): string {
  if (provider.routes.length === 1) return '';
  return pascal(route.eventFamily ?? route.path.split('/').filter(Boolean).pop() ?? '');
}

/**
 * The name in a complete secret ARN (`...:secret:<name>-AbCdEf`). CDK's own `secretName` splits on
 * '-' and so breaks names that contain one; ours do.
 */
export function secretNameFromArn(arn: string): string {
  const name = arn.slice(arn.indexOf(':secret:') + ':secret:'.length);
  return name.replace(/-[A-Za-z0-9]{6}$/, '');
}

/**
 * One provider, end to end: its function (bundled from functions/<id>/handler.ts), a public
 * function URL, its routes on the shared HTTP API, its signing secret (created with placeholders,
 * or imported), a role that can read that secret and only what the provider's kind needs, its log
 * group, alarms, and the outputs an operator pastes into the platform's console.
 */
export class ProviderEndpoint extends Construct {
  readonly provider: ProviderDefinition;
  readonly function: NodejsFunction;
  readonly functionUrl: FunctionUrl;
  readonly secret: ISecret;
  /** The secret's name, as the Secrets Manager console lists it. */
  readonly secretName: string;
  readonly logGroup: LogGroup;
  readonly routes: readonly HttpRoute[];
  readonly alarms: {
    readonly rejectedSignatures: Alarm;
    readonly serverErrors: Alarm;
    readonly throttles: Alarm;
    readonly functionUrlRequests: Alarm;
    readonly staleSecret: Alarm;
    readonly misconfiguredSecret: Alarm;
    readonly parkedDeliveries?: Alarm;
  };

  constructor(scope: Construct, id: string, props: ProviderEndpointProps) {
    super(scope, id);
    const { provider, api } = props;
    this.provider = provider;
    const stackName = Stack.of(this).stackName;
    const hint = consoleSetting(provider);

    if (provider.kind === 'lookup' && !props.customers) {
      throw new Error(`${provider.id}: a lookup provider needs a customer directory (the customers table or the customer API)`);
    }
    if (provider.kind === 'webhook' && (!props.dedupe || !props.eventBus)) {
      throw new Error(`${provider.id}: a webhook provider needs the de-duplication table and the event bus`);
    }

    // The signing secret: placeholders the operator replaces in the console, kept if the stack goes.
    if (props.secretArn) {
      this.secret = Secret.fromSecretCompleteArn(this, 'Secret', props.secretArn);
      this.secretName = secretNameFromArn(props.secretArn);
    } else {
      this.secretName = `${stackName}/${provider.id}/signing-secret`;
      const secret = new Secret(this, 'Secret', {
        secretName: this.secretName,
        description: `Signing secret for ${provider.title}. JSON keys: ${provider.secretKeys.join(', ')}. Value from: ${hint.secret}.`,
        // Not secret material: placeholders that name each key. A key still holding one verifies nothing.
        secretObjectValue: Object.fromEntries(provider.secretKeys.map((key) => [key, SecretValue.unsafePlainText(`${PLACEHOLDER_PREFIX}${key}`)])),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      if (!props.rotatedAutomatically) Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: NAG_REASONS.secretRotation });
      this.secret = secret;
    }

    this.logGroup = new LogGroup(this, 'LogGroup', { retention: props.logRetention });

    // An explicit role, so the function holds exactly these permissions and no AWS managed policy.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${provider.title} receiver: its own log group, its own signing secret, and its ${provider.kind === 'lookup' ? 'customer reads' : 'event delivery'}`,
    });
    this.logGroup.grantWrite(role);
    // Exactly what shared/secrets/cache.ts calls: list the versions, then read each by VersionId.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadOwnSigningSecret',
        actions: ['secretsmanager:ListSecretVersionIds', 'secretsmanager:GetSecretValue'],
        resources: [this.secret.secretArn],
      }),
    );

    const environment: Record<string, string> = {
      [ENV.providerId]: provider.id,
      [ENV.signingSecretId]: this.secret.secretArn,
    };
    if (provider.kind === 'lookup' && props.customers) Object.assign(environment, this.grantCustomerReads(role, props.customers));
    if (provider.kind === 'webhook' && props.dedupe && props.eventBus && props.deliveries) {
      environment[ENV.eventSink] = 'eventbridge';
      environment[ENV.eventBusName] = props.eventBus.eventBusName;
      environment[ENV.dedupeTable] = props.dedupe.table.tableName;
      environment[ENV.deliveryBucket] = props.deliveries.bucket.bucketName;
      // What shared/events/store.ts does from a handler: PutObject under claims/<id>/ and parked/<id>/.
      props.deliveries.grantProviderWrites(role, provider.id);
      // What shared/events/ledger.ts does: conditional PutItem to claim and complete, GetItem, conditional DeleteItem to release.
      role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'DeduplicateDeliveries',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
          resources: [props.dedupe.table.tableArn],
        }),
      );
      props.eventBus.grantPutEventsTo(role);
    }
    Object.assign(environment, props.environment);

    const routeList = provider.routes.map((r) => `${r.method} ${r.path}`).join(', ');
    const reserved = props.reservedConcurrency ?? reservedConcurrencyOf(provider);
    this.function = new NodejsFunction(this, 'Function', {
      description: `${provider.title}: ${routeList}`,
      // Bundled by our own esbuild call (function-bundle.ts): NodejsFunction's bundling cannot take esbuild plugins.
      ...bundledCode(this, handlerEntry(provider), props.code),
      // The platform's own timeout: nothing keeps running after the caller has given up.
      timeout: Duration.seconds(provider.budget.functionTimeoutSeconds),
      memorySize: provider.budget.memoryMb,
      // The most instances a flood of unsigned requests can start, through the function URL or the API:
      // it cannot take the account's concurrency from other functions, and the bill has a ceiling.
      ...(reserved === 'none' ? {} : { reservedConcurrentExecutions: reserved }),
      role,
      logGroup: this.logGroup,
      // Platform lines (START/REPORT) as JSON too; the handler's own lines are JSON already.
      loggingFormat: LoggingFormat.JSON,
      environment,
    });
    Validations.of(this.function).acknowledge(
      { id: 'AwsSolutions-L1', reason: NAG_REASONS.runtime },
      { id: 'Serverless-LambdaLatestVersion', reason: NAG_REASONS.runtime },
      { id: 'Serverless-LambdaDLQ', reason: NAG_REASONS.synchronousOnly },
      { id: 'Serverless-LambdaTracing', reason: NAG_REASONS.tracing },
    );

    // Public, buffered: the platforms call it directly; the HMAC check in the handler is the authentication.
    this.functionUrl = this.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.BUFFERED });

    // Payload 2.0 hands the handler the raw body and the raw query string untouched.
    const integration = new HttpLambdaIntegration(`${id}Integration`, this.function, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      timeout: Duration.seconds(Math.min(29, provider.budget.functionTimeoutSeconds + 1)),
    });
    this.routes = provider.routes.map((route) => {
      const httpRoute = new HttpRoute(this, `Route${routeName(provider, route)}`, {
        httpApi: api.api,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration,
      });
      Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: NAG_REASONS.functionUrlAndRouteAuth });
      api.limitRoute(httpRoute, `${route.method} ${route.path}`);
      return httpRoute;
    });

    this.alarms = this.createAlarms(props, stackName);
    this.createOutputs(props);
  }

  /** The directory's environment variables, with exactly the permissions that directory's adapter uses. */
  private grantCustomerReads(role: Role, source: CustomerSource): Record<string, string> {
    if (source.kind === 'http') {
      // What shared/customers/http.ts does: plain GET requests to the API (no AWS permission), and,
      // with a token secret, GetSecretValue on that secret by its id (bearerTokenFromSecret).
      if (source.tokenSecretArn) {
        role.addToPrincipalPolicy(
          new PolicyStatement({ sid: 'ReadCustomerApiToken', actions: ['secretsmanager:GetSecretValue'], resources: [source.tokenSecretArn] }),
        );
      }
      return {
        [ENV.directory]: 'http' satisfies DirectoryKind,
        [ENV.directoryUrl]: source.url,
        ...(source.tokenSecretArn ? { [ENV.directoryTokenSecretId]: source.tokenSecretArn } : {}),
      };
    }
    // What shared/customers/dynamodb.ts does: GetItem by key on the table, Query on the email index.
    role.addToPrincipalPolicy(new PolicyStatement({ sid: 'GetCustomerItems', actions: ['dynamodb:GetItem'], resources: [source.table.table.tableArn] }));
    role.addToPrincipalPolicy(new PolicyStatement({ sid: 'QueryCustomersByEmail', actions: ['dynamodb:Query'], resources: [source.table.emailIndexArn] }));
    return { [ENV.directory]: 'dynamodb' satisfies DirectoryKind, [ENV.customersTable]: source.table.table.tableName };
  }

  private createAlarms(props: ProviderEndpointProps, stackName: string): ProviderEndpoint['alarms'] {
    const { provider, api } = props;
    const thresholds = { ...DEFAULT_ALARM_THRESHOLDS, ...props.alarmThresholds };
    const routeKeys = provider.routes.map((r) => `${r.method} ${r.path}`);
    const metricFilter = (id: string, logGroup: LogGroup, metric: string, filterPattern: JsonPattern): Metric =>
      new MetricFilter(this, id, {
        logGroup,
        metricNamespace: props.metricNamespace,
        metricName: `${provider.id}.${metric}`,
        filterPattern,
        metricValue: '1',
      }).metric({ statistic: 'Sum', period: ALARM_PERIOD });

    // The handler logs one JSON line per request (shared/handler.ts): provider, outcome, status.
    const rejected = metricFilter(
      'RejectedSignaturesFilter',
      this.logGroup,
      'RejectedSignatures',
      FilterPattern.any(FilterPattern.stringValue('$.outcome', '=', 'bad_signature_*'), FilterPattern.stringValue('$.outcome', '=', 'stale_timestamp')),
    );
    const answered5xx = metricFilter('ServerErrorAnswersFilter', this.logGroup, 'ServerErrorAnswers', FilterPattern.all(FilterPattern.numberValue('$.status', '>=', 500)));
    const api5xx = metricFilter(
      'ApiServerErrorsFilter',
      api.accessLogs,
      'ApiServerErrors',
      FilterPattern.all(FilterPattern.any(...routeKeys.map((key) => FilterPattern.stringValue('$.routeKey', '=', key))), FilterPattern.numberValue('$.status', '>=', 500)),
    );

    const secretOutcome = (id: string, outcome: string) =>
      metricFilter(`${id}Filter`, this.logGroup, id, FilterPattern.stringValue('$.outcome', '=', outcome));

    const alarm = (id: string, name: string, description: string, metric: IMetric, threshold: number): Alarm =>
      thresholdAlarm(this, id, {
        alarmName: `${stackName}-${provider.id}-${name}`,
        alarmDescription: description,
        metric,
        threshold,
        ...(props.alarmTopic ? { topic: props.alarmTopic } : {}),
      });

    // Every parked delivery alarms: it reached no bus yet, and the redrive or an operator must see it through.
    const parkedDeliveries =
      provider.kind === 'webhook'
        ? alarm(
            'ParkedDeliveriesAlarm',
            'parked-deliveries',
            `${provider.title}: a verified delivery was parked (acknowledged, kept in the delivery bucket under parked/${provider.id}/, not yet on the bus) because EventBridge refused it or EventBridge or DynamoDB failed. The scheduled redrive re-forwards it; \`npm run redrive\` does it now. See docs/deploy.md ("Parked deliveries").`,
            metricFilter('ParkedDeliveriesFilter', this.logGroup, 'ParkedDeliveries', FilterPattern.stringValue('$.outcome', '=', 'parked')),
            1,
          )
        : undefined;

    return {
      ...(parkedDeliveries ? { parkedDeliveries } : {}),
      rejectedSignatures: alarm(
        'RejectedSignaturesAlarm',
        'rejected-signatures',
        `${provider.title}: at least ${thresholds.rejectedSignatures} requests in 5 minutes rejected for a bad signature or a stale timestamp. Right after a rotation: the secret in Secrets Manager does not match the platform's (see docs/deploy.md). Otherwise: someone is probing the endpoint.`,
        rejected,
        thresholds.rejectedSignatures,
      ),
      serverErrors: alarm(
        'ServerErrorsAlarm',
        'server-errors',
        `${provider.title}: at least ${thresholds.serverErrors} 5xx signals in 5 minutes (Lambda errors + 5xx answers the handler logged + API 5xx on its routes; one failed request through the API can count twice). Check the function's log group for outcome values.`,
        new MathExpression({
          expression: 'FILL(lambdaErrors, 0) + FILL(answered5xx, 0) + FILL(api5xx, 0)',
          usingMetrics: {
            lambdaErrors: this.function.metricErrors({ statistic: 'Sum', period: ALARM_PERIOD }),
            answered5xx,
            api5xx,
          },
          period: ALARM_PERIOD,
          label: `${provider.id} 5xx signals`,
        }),
        thresholds.serverErrors,
      ),
      throttles: alarm(
        'ThrottlesAlarm',
        'throttles',
        `${provider.title}: its function was throttled (account or reserved concurrency exhausted); the platform sees errors and retries or gives up.`,
        this.function.metricThrottles({ statistic: 'Sum', period: ALARM_PERIOD }),
        thresholds.throttles,
      ),
      functionUrlRequests: alarm(
        'FunctionUrlRequestsAlarm',
        'function-url-requests',
        `${provider.title}: at least ${thresholds.functionUrlRequestsPerMinute} requests to its function URL in one minute. The URL has no gateway throttle (reserved concurrency bounds what it costs): if this is not real traffic, it is a flood; see docs/deploy.md (Floods and cost).`,
        this.function.metric('UrlRequestCount', { statistic: 'Sum', period: Duration.minutes(1) }),
        thresholds.functionUrlRequestsPerMinute,
      ),
      staleSecret: alarm(
        'StaleSecretAlarm',
        'signing-secret-stale',
        `${provider.title}: Secrets Manager has failed for longer than SECRETS_MAX_STALE_SECONDS, so the cached signing secret is no longer used and requests are answered 503. Check the function's access to its secret (log outcome secret_refresh_failed names the error).`,
        secretOutcome('StaleSecretRefused', 'secret_stale_expired'),
        1,
      ),
      misconfiguredSecret: alarm(
        'MisconfiguredSecretAlarm',
        'signing-secret-misconfigured',
        `${provider.title}: its signing secret's value is misconfigured (whitespace around it, JSON that does not parse, or a plain string where several keys are needed), so requests are answered 503 "Signing secret misconfigured". The log line (outcome secret_misconfigured) names the key and the problem; fix the value in the Secrets Manager console (docs/deploy.md).`,
        secretOutcome('MisconfiguredSecret', 'secret_misconfigured'),
        1,
      ),
    };
  }

  private createOutputs(props: ProviderEndpointProps): void {
    const { provider, api } = props;
    const hint = consoleSetting(provider);
    const prefix = pascal(provider.id);
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description }).overrideLogicalId(id);

    for (const route of provider.routes) {
      const name = `${prefix}${routeName(provider, route)}`;
      // The function URL ends in '/'; the handler routes on the path, so the platform calls URL + route path.
      output(`${name}FunctionUrl`, Fn.join('', [this.functionUrl.url, route.path.slice(1)]), `${route.method} ${route.path} via the function URL. Paste into: ${hint.url(route)}`);
      output(`${name}ApiUrl`, api.routeUrl(route.path), `${route.method} ${route.path} via the HTTP API (throttled, access-logged). Or paste this into: ${hint.url(route)}`);
    }
    output(
      `${prefix}SecretName`,
      this.secretName,
      `Secrets Manager secret for ${provider.title}: set JSON keys ${provider.secretKeys.join(', ')}. Value from: ${hint.secret}`,
    );
  }
}
