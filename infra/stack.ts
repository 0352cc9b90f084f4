import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { Code } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { PROVIDERS, type ProviderDefinition, type ProviderId, type RegisteredProvider } from '../shared/providers.js';
import { SECRETS_DEFAULTS } from '../shared/secrets/cache.js';
import { AlarmTopic } from './constructs/alarm-topic.js';
import { BullseyeRotation } from './constructs/bullseye-rotation.js';
import { CallbackApi } from './constructs/callback-api.js';
import { ProviderEndpoint, type AlarmThresholds, type CustomerSource } from './constructs/provider-endpoint.js';
import { CustomersTable, DedupeTable } from './constructs/tables.js';
import { DeliveryBucket } from './constructs/delivery-bucket.js';
import { DeliveryRedrive } from './constructs/delivery-redrive.js';
import { ExampleConsumer } from './constructs/example-consumer.js';
import { OperationsDashboard } from './constructs/operations-dashboard.js';
import { WebhookArchive } from './constructs/webhook-archive.js';
import { DEFAULT_SETTINGS, type DeploymentSettings } from './settings.js';

export interface SignedCallbacksStackProps extends StackProps {
  /** Deployment choices (providers, imported secrets, tunables, retention, throttling, alarm email, customer directory). */
  readonly settings?: Partial<DeploymentSettings>;
  readonly alarmThresholds?: Partial<AlarmThresholds>;
  /**
   * Tests only: the code each function deploys instead of its esbuild bundle, so assertions that
   * are not about the bundle do not pay for five bundles.
   */
  readonly functionCode?: (of: ProviderDefinition | 'redrive') => Code;
}

/**
 * The whole deployment, composed from the registry: one ProviderEndpoint per enabled provider on a
 * shared HTTP API, the customers table for lookup providers (unless they read your own user API,
 * `customerApiUrl`), the de-duplication table and event bus for webhook providers, and one alarm
 * topic. Resources only a deselected kind or directory needs are left out.
 */
export class SignedCallbacksStack extends Stack {
  readonly endpoints: Partial<Record<string, ProviderEndpoint>> = {};
  readonly api: CallbackApi;
  readonly customers?: CustomersTable;
  readonly dedupe?: DedupeTable;
  readonly eventBus?: EventBus;
  readonly deliveries?: DeliveryBucket;
  readonly redrive?: DeliveryRedrive;
  readonly alarmTopic: AlarmTopic;
  readonly archive?: WebhookArchive;
  readonly exampleConsumer?: ExampleConsumer;
  readonly dashboard: OperationsDashboard;
  readonly bullseyeRotation?: BullseyeRotation;

  constructor(scope: Construct, id: string, props: SignedCallbacksStackProps = {}) {
    const { settings: chosen, alarmThresholds, functionCode, ...stackProps } = props;
    super(scope, id, {
      description: 'Receivers for HMAC-signed callbacks and webhooks (Buddy, Talki, Bullseye, BuddyStat, Helper, Standard Webhooks senders)',
      ...stackProps,
    });
    const settings: DeploymentSettings = { ...DEFAULT_SETTINGS, ...chosen };
    const providers = settings.providers.map((providerId): RegisteredProvider => PROVIDERS[providerId]);
    if (providers.length === 0) throw new Error('No provider selected: the stack would deploy nothing');

    const metricNamespace = `SignedCallbacks/${this.stackName}`;
    this.alarmTopic = new AlarmTopic(this, 'Alarms', settings.alarmEmail ? { email: settings.alarmEmail } : {});
    this.api = new CallbackApi(this, 'CallbackApi', {
      logRetention: settings.logRetention,
      throttle: settings.throttle,
      routeThrottle: settings.routeThrottle,
      metricNamespace,
      alarmTopic: this.alarmTopic.topic,
    });
    let customerSource: CustomerSource | undefined;
    if (providers.some((p) => p.kind === 'lookup')) {
      if (settings.customerDirectory.kind === 'http') customerSource = settings.customerDirectory;
      else {
        this.customers = new CustomersTable(this, 'Customers');
        customerSource = { kind: 'dynamodb', table: this.customers };
      }
    }
    if (providers.some((p) => p.kind === 'webhook')) {
      this.dedupe = new DedupeTable(this, 'Dedupe');
      this.eventBus = new EventBus(this, 'WebhookEvents', { description: 'Verified webhook events from Bullseye and BuddyStat, delivered once' });
      this.archive = new WebhookArchive(this, 'WebhookArchive', { eventBus: this.eventBus, retentionDays: settings.archiveRetentionDays });
      if (settings.exampleConsumer) {
        this.exampleConsumer = new ExampleConsumer(this, 'ExampleConsumer', { eventBus: this.eventBus, providers, alarmTopic: this.alarmTopic.topic });
      }
      this.deliveries = new DeliveryBucket(this, 'Deliveries', { retentionDays: settings.deliveryRetentionDays });
      const redriveCode = functionCode?.('redrive');
      this.redrive = new DeliveryRedrive(this, 'Redrive', {
        deliveries: this.deliveries,
        dedupe: this.dedupe,
        eventBus: this.eventBus,
        logRetention: settings.logRetention,
        alarmTopic: this.alarmTopic.topic,
        alarmName: `${this.stackName}-redrive-errors`,
        ...(redriveCode ? { code: redriveCode } : {}),
      });
    }

    for (const provider of providers) {
      const code = functionCode?.(provider);
      const secretArn = settings.secretArns[provider.id];
      const environment = settings.providerEnvironment[provider.id];
      this.endpoints[provider.id] = new ProviderEndpoint(this, provider.id.charAt(0).toUpperCase() + provider.id.slice(1), {
        provider,
        api: this.api,
        ...(customerSource ? { customers: customerSource } : {}),
        ...(this.dedupe ? { dedupe: this.dedupe } : {}),
        ...(this.eventBus ? { eventBus: this.eventBus } : {}),
        ...(this.deliveries ? { deliveries: this.deliveries } : {}),
        alarmTopic: this.alarmTopic.topic,
        ...(secretArn ? { secretArn } : {}),
        ...(provider.id === 'bullseye' && settings.bullseyeRotation ? { rotatedAutomatically: true } : {}),
        ...(environment ? { environment } : {}),
        ...(alarmThresholds ? { alarmThresholds } : {}),
        ...(code ? { code } : {}),
        logRetention: settings.logRetention,
        reservedConcurrency: settings.reservedConcurrency[provider.id],
        metricNamespace,
      });
    }

    const bullseye = this.endpoints.bullseye;
    if (settings.bullseyeRotation && bullseye) {
      const code = functionCode?.(bullseye.provider);
      const ttl = settings.providerEnvironment.bullseye?.SECRETS_TTL_SECONDS;
      this.bullseyeRotation = new BullseyeRotation(this, 'BullseyeRotation', {
        secret: bullseye.secret,
        rotationDays: settings.bullseyeRotation.days,
        receiverTtlSeconds: ttl === undefined ? SECRETS_DEFAULTS.ttlMs / 1000 : Number(ttl),
        api: settings.bullseyeRotation.api,
        logRetention: settings.logRetention,
        alarmTopic: this.alarmTopic.topic,
        ...(code ? { code } : {}),
      });
    }

    this.dashboard = new OperationsDashboard(this, 'Operations', {
      endpoints: providers.map((provider) => this.endpoints[provider.id]!),
      api: this.api,
      metricNamespace,
    });

    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarmTopic.topic.topicArn,
      description: 'SNS topic every alarm notifies: subscribe your on-call channel',
    }).overrideLogicalId('AlarmTopicArn');
    if (this.eventBus) {
      new CfnOutput(this, 'EventBusName', {
        value: this.eventBus.eventBusName,
        description: 'EventBridge bus that receives verified webhook events: add rules for your consumers',
      }).overrideLogicalId('EventBusName');
    }
    if (this.deliveries && this.dedupe) {
      new CfnOutput(this, 'DeliveryBucketName', {
        value: this.deliveries.bucket.bucketName,
        description: 'S3 bucket of claim-checked webhook bodies (claims/) and parked deliveries (parked/): DELIVERY_BUCKET for npm run redrive',
      }).overrideLogicalId('DeliveryBucketName');
      new CfnOutput(this, 'DedupeTableName', {
        value: this.dedupe.table.tableName,
        description: 'DynamoDB de-duplication table of webhook deliveries: DEDUPE_TABLE for npm run redrive',
      }).overrideLogicalId('DedupeTableName');
    }
    if (this.customers) {
      new CfnOutput(this, 'CustomersTableName', {
        value: this.customers.table.tableName,
        description: 'DynamoDB customers table the lookup providers read (layout in shared/customers/table.ts)',
      }).overrideLogicalId('CustomersTableName');
    }
  }
}
