import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { CfnStage, HttpApi, HttpStage, LogGroupLogDestination, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterPattern, LogGroup, MetricFilter, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { thresholdAlarm } from './alarm-topic.js';

export interface CallbackApiProps {
  readonly logRetention: RetentionDays;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Each route's own limit on the stage (`limitRoute`), so one route's flood leaves the others their share. */
  readonly routeThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  /** CloudWatch namespace for the metric the access-log filter publishes. */
  readonly metricNamespace: string;
  readonly alarmTopic?: ITopic;
  /** Requests the stage throttled (429) in 5 minutes that raise the alarm. Default 1. */
  readonly throttledRequestsThreshold?: number;
}

/**
 * One access-log line per request, as JSON. `status` is a bare number so metric filters can compare
 * it (`$.status >= 500`); every other value is quoted, so a variable API Gateway leaves as `-` cannot
 * break the line's JSON. Nothing from the request's headers (beyond the user agent), query or body
 * is logged.
 */
export const ACCESS_LOG_FORMAT = [
  '{"requestId":"$context.requestId"',
  '"requestTime":"$context.requestTime"',
  '"sourceIp":"$context.identity.sourceIp"',
  '"userAgent":"$context.identity.userAgent"',
  '"routeKey":"$context.routeKey"',
  '"status":$context.status',
  '"responseLatency":"$context.responseLatency"',
  '"responseLength":"$context.responseLength"',
  '"integrationStatus":"$context.integrationStatus"',
  '"integrationLatency":"$context.integrationLatency"',
  '"integrationError":"$context.integrationErrorMessage"',
  '"error":"$context.error.message"}',
].join(',');

/** Why cdk-nag's Serverless-APIGWStructuredLogging finding on the stage is accepted. */
export const ACCESS_LOG_NAG_REASON =
  'The access log is JSON: every line API Gateway writes from ACCESS_LOG_FORMAT is one JSON object (test/infra/stack.test.ts parses a substituted sample). The check parses the format template itself, which is not JSON only because $context.status is left unquoted so that metric filters can compare it as a number ($.status >= 500, the 429 filter below).';

/**
 * The one HTTP API (API Gateway v2) every provider's routes hang on, with its `$default` stage:
 * stage-wide throttling, a throttle per route (`limitRoute`) and JSON access logs. Routes are added by
 * each ProviderEndpoint.
 */
export class CallbackApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** Requests refused by stage throttling: a platform's deliveries may be lost, or a flood is being cut off. */
  readonly throttledAlarm: Alarm;
  private readonly routeThrottle: CallbackApiProps['routeThrottle'];
  private readonly routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};

  constructor(scope: Construct, id: string, props: CallbackApiProps) {
    super(scope, id);
    this.routeThrottle = props.routeThrottle;
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.api = new HttpApi(this, 'Api', {
      description: 'Signed callbacks and webhooks from Buddy, Talki, Bullseye, BuddyStat and Helper',
      // The stage is declared below so it can carry throttling and access logging.
      createDefaultStage: false,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });

    Validations.of(this.stage).acknowledge({ id: 'Serverless-APIGWStructuredLogging', reason: ACCESS_LOG_NAG_REASON });

    // Throttled requests are counted for the whole stage: the limit is stage-wide.
    const throttled = new MetricFilter(this, 'ThrottledRequestsFilter', {
      logGroup: this.accessLogs,
      metricNamespace: props.metricNamespace,
      metricName: 'api.ThrottledRequests',
      filterPattern: FilterPattern.numberValue('$.status', '=', 429),
      metricValue: '1',
    }).metric({ statistic: 'Sum', period: Duration.minutes(5) });
    this.throttledAlarm = thresholdAlarm(this, 'ThrottledRequestsAlarm', {
      alarmName: `${Stack.of(this).stackName}-api-throttled`,
      alarmDescription: `The HTTP API stage refused requests with 429 (limit ${props.throttle.rateLimit} rps, burst ${props.throttle.burstLimit}). Platforms retry some deliveries and drop others; if this is real traffic, raise apiRateLimit / apiBurstLimit (docs/deploy.md).`,
      metric: throttled,
      threshold: props.throttledRequestsThreshold ?? 1,
      ...(props.alarmTopic ? { topic: props.alarmTopic } : {}),
    });
  }

  /**
   * Gives a route its own throttle on the stage (the stage's RouteSettings, keyed by route key, e.g.
   * `POST /buddy/identity`). The stage then waits for the route: API Gateway refuses settings for a
   * route key that does not exist yet.
   */
  limitRoute(route: HttpRoute, routeKey: string): void {
    this.routeSettings[routeKey] = { ThrottlingRateLimit: this.routeThrottle.rateLimit, ThrottlingBurstLimit: this.routeThrottle.burstLimit };
    const stage = this.stage.node.defaultChild as CfnStage;
    stage.routeSettings = this.routeSettings;
    stage.node.addDependency(route);
  }

  /** The public URL of a route path on the `$default` stage (no stage segment in the path). */
  routeUrl(path: string): string {
    return `${this.api.apiEndpoint}${path}`;
  }
}
