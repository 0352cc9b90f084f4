import { join } from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LoggingFormat, type Code } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnRotationSchedule, Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PARTNER_API_DEFAULTS } from '../../shared/bullseye/partner-api.js';
import { ENV } from '../../shared/config.js';
import { PLACEHOLDER_PREFIX } from '../../shared/secrets/cache.js';
import type { BullseyeApiSetting } from '../settings.js';
import { thresholdAlarm } from './alarm-topic.js';
import { bundledCode, PROJECT_ROOT } from './function-bundle.js';
import { NAG_REASONS } from './provider-endpoint.js';

export interface BullseyeRotationProps {
  /** Bullseye's signing secret (`{"identification", "billing"}`), which this rotates. */
  readonly secret: ISecret;
  /** Days between scheduled rotations (1 to 1000). */
  readonly rotationDays: number;
  /** The receivers' SECRETS_TTL_SECONDS: setSecret waits this long after staging AWSPENDING. */
  readonly receiverTtlSeconds: number;
  readonly api?: BullseyeApiSetting;
  readonly logRetention: RetentionDays;
  readonly alarmTopic?: ITopic;
  /** Tests: deploy this code instead of bundling functions/bullseye-rotation/handler.ts (`index.handler`). */
  readonly code?: Code;
}

/**
 * Automatic rotation of Bullseye's webhook secrets (`-c bullseyeRotationDays=N`): the rotation
 * function (functions/bullseye-rotation), the partner API key secret it reads (created with a
 * placeholder the operator replaces), the schedule on the signing secret, and an alarm on failed
 * rotation steps. The function's role can rotate that one secret and read the API key, nothing else
 * (it makes its random values itself, so it needs no GetRandomPassword on `*`).
 */
export class BullseyeRotation extends Construct {
  readonly function: NodejsFunction;
  readonly apiKeySecret: Secret;
  readonly apiKeySecretName: string;
  readonly schedule: CfnRotationSchedule;
  readonly failedAlarm: Alarm;

  constructor(scope: Construct, id: string, props: BullseyeRotationProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.apiKeySecretName = `${stack.stackName}/bullseye/partner-api-key`;
    this.apiKeySecret = new Secret(this, 'ApiKeySecret', {
      secretName: this.apiKeySecretName,
      description: 'Bullseye partner API key (X-Partner-API-Key) the rotation function uses. JSON key: apiKey. Value from: the Bullseye partner account.',
      secretObjectValue: { apiKey: SecretValue.unsafePlainText(`${PLACEHOLDER_PREFIX}apiKey`) },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.apiKeySecret).acknowledge({ id: 'AwsSolutions-SMG4', reason: NAG_REASONS.partnerApiKeyRotation });

    const logGroup = new LogGroup(this, 'LogGroup', { retention: props.logRetention });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: "Bullseye rotation: its own log group, the rotation actions on Bullseye's signing secret, and reading the partner API key",
    });
    logGroup.grantWrite(role);
    // Exactly what functions/bullseye-rotation/rotation.ts calls.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'RotateBullseyeSigningSecret',
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        resources: [props.secret.secretArn],
      }),
    );
    role.addToPrincipalPolicy(new PolicyStatement({ sid: 'ReadPartnerApiKey', actions: ['secretsmanager:GetSecretValue'], resources: [this.apiKeySecret.secretArn] }));

    this.function = new NodejsFunction(this, 'Function', {
      description: "Rotates Bullseye's webhook secrets through its partner API (Secrets Manager rotation function)",
      ...bundledCode(join(PROJECT_ROOT, 'functions', 'bullseye-rotation', 'handler.ts'), props.code),
      // setSecret waits up to the receivers' TTL (10 minutes at most), testSecret up to 45 s per webhook.
      timeout: Duration.minutes(15),
      memorySize: 256,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        [ENV.bullseyeApiKeySecretId]: this.apiKeySecret.secretArn,
        [ENV.bullseyeApiUrl]: props.api?.url ?? PARTNER_API_DEFAULTS.baseUrl,
        [ENV.bullseyeTestWebhookPath]: props.api?.testWebhookPath ?? PARTNER_API_DEFAULTS.testWebhookPath,
        [ENV.bullseyeWebhookLogsPath]: props.api?.webhookLogsPath ?? PARTNER_API_DEFAULTS.webhookLogsPath,
        [ENV.rotationReceiverTtlSeconds]: String(props.receiverTtlSeconds),
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    Validations.of(this.function).acknowledge(
      { id: 'AwsSolutions-L1', reason: NAG_REASONS.runtime },
      { id: 'Serverless-LambdaLatestVersion', reason: NAG_REASONS.runtime },
      { id: 'Serverless-LambdaDLQ', reason: NAG_REASONS.rotationSteps },
      { id: 'Serverless-LambdaTracing', reason: NAG_REASONS.tracing },
    );
    // Only Secrets Manager, and only on behalf of this account, may invoke it.
    this.function.addPermission('InvokedBySecretsManager', {
      principal: new ServicePrincipal('secretsmanager.amazonaws.com'),
      sourceAccount: stack.account,
    });

    this.schedule = new CfnRotationSchedule(this, 'Schedule', {
      secretId: props.secret.secretArn,
      rotationLambdaArn: this.function.functionArn,
      rotationRules: { scheduleExpression: `rate(${props.rotationDays} ${props.rotationDays === 1 ? 'day' : 'days'})` },
      // Not on deploy: the API key secret still holds its placeholder then. Rotate immediately from the console once it is set.
      rotateImmediatelyOnUpdate: false,
    });
    // Secrets Manager checks it may invoke the function when the schedule is created.
    const permission = this.function.permissionsNode.tryFindChild('InvokedBySecretsManager');
    if (permission) this.schedule.node.addDependency(permission);

    this.failedAlarm = thresholdAlarm(this, 'FailedAlarm', {
      alarmName: `${stack.stackName}-bullseye-rotation-failed`,
      alarmDescription:
        "Bullseye secret rotation: a rotation step failed (the function's log says which and why: API key not set, Bullseye refused, a test delivery not verified). AWSCURRENT is unchanged and every value Bullseye may hold still verifies; Secrets Manager retries. See docs/deploy.md, Automatic rotation.",
      metric: this.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      ...(props.alarmTopic ? { topic: props.alarmTopic } : {}),
    });

    new CfnOutput(this, 'ApiKeySecretName', {
      value: this.apiKeySecretName,
      description: 'Secrets Manager secret for the Bullseye partner API key: set JSON key apiKey. Value from: the Bullseye partner account (API keys).',
    }).overrideLogicalId('BullseyeApiKeySecretName');
    new CfnOutput(this, 'RotationFunctionName', {
      value: this.function.functionName,
      description: "The function that rotates Bullseye's webhook secrets; its log group says what each rotation step did.",
    }).overrideLogicalId('BullseyeRotationFunctionName');
  }
}
