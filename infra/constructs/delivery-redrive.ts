import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LoggingFormat, type Code } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { bundledCode, PROJECT_ROOT } from './function-bundle.js';
import type { DeliveryBucket } from './delivery-bucket.js';
import { NAG_REASONS } from './provider-endpoint.js';
import type { DedupeTable } from './tables.js';

/** How often parked deliveries are re-forwarded. */
export const REDRIVE_SCHEDULE_MINUTES = 10;

export interface DeliveryRedriveProps {
  readonly deliveries: DeliveryBucket;
  readonly dedupe: DedupeTable;
  readonly eventBus: IEventBus;
  readonly logRetention: RetentionDays;
  readonly alarmTopic?: ITopic;
  readonly alarmName: string;
  /** Tests only: deploy this instead of bundling functions/redrive/handler.ts (handler `index.handler`). */
  readonly code?: Code;
}

/**
 * The scheduled redrive (functions/redrive/handler.ts): every REDRIVE_SCHEDULE_MINUTES it
 * re-forwards parked deliveries through the same ledger as the webhook functions, so each still
 * reaches the bus once; `npm run redrive` runs the same code by hand. An alarm fires when a run fails.
 */
export class DeliveryRedrive extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Rule;
  readonly errorsAlarm: Alarm;

  constructor(scope: Construct, id: string, props: DeliveryRedriveProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'LogGroup', { retention: props.logRetention });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Webhook redrive: reads and deletes parked deliveries, forwards them once through the de-duplication table',
    });
    logGroup.grantWrite(role);
    props.deliveries.grantRedrive(role);
    // What shared/events/ledger.ts does, as the webhook functions.
    role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'DeduplicateDeliveries', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], resources: [props.dedupe.table.tableArn] }),
    );
    props.eventBus.grantPutEventsTo(role);

    this.function = new NodejsFunction(this, 'Function', {
      description: 'Re-forwards parked webhook deliveries (delivery bucket, parked/) once',
      ...bundledCode(this, join(PROJECT_ROOT, 'functions', 'redrive', 'handler.ts'), props.code),
      // functions/redrive/handler.ts stops starting deliveries after four minutes.
      timeout: Duration.minutes(5),
      memorySize: 512,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        [ENV.eventSink]: 'eventbridge',
        [ENV.eventBusName]: props.eventBus.eventBusName,
        [ENV.dedupeTable]: props.dedupe.table.tableName,
        [ENV.deliveryBucket]: props.deliveries.bucket.bucketName,
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    Validations.of(this.function).acknowledge(
      { id: 'AwsSolutions-L1', reason: NAG_REASONS.runtime },
      { id: 'Serverless-LambdaLatestVersion', reason: NAG_REASONS.runtime },
      { id: 'Serverless-LambdaTracing', reason: NAG_REASONS.tracing },
      { id: 'Serverless-LambdaDLQ', reason: NAG_REASONS.redriveSchedule },
    );

    this.schedule = new Rule(this, 'Schedule', {
      description: 'Redrive parked webhook deliveries',
      schedule: Schedule.rate(Duration.minutes(REDRIVE_SCHEDULE_MINUTES)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    Validations.of(this.schedule).acknowledge({ id: 'Serverless-EventBusDLQ', reason: NAG_REASONS.redriveSchedule });

    this.errorsAlarm = new Alarm(this, 'ErrorsAlarm', {
      alarmName: props.alarmName,
      alarmDescription: 'The webhook redrive failed a run: parked deliveries are not being re-forwarded. Check its log group.',
      metric: this.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(REDRIVE_SCHEDULE_MINUTES) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      this.errorsAlarm.addAlarmAction(new SnsAction(props.alarmTopic));
      this.errorsAlarm.addOkAction(new SnsAction(props.alarmTopic));
    }
  }
}
