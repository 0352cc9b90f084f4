import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, CfnBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { DELIVERY_PREFIXES } from '../../shared/events/store.js';
import { NAG_REASONS } from './provider-endpoint.js';

export interface DeliveryBucketProps {
  /** How long claim-checked bodies and parked deliveries are kept (`-c deliveryRetentionDays`, default 30). */
  readonly retentionDays: number;
}

/**
 * The delivery bucket (layout in shared/events/store.ts): webhook bodies too large for an EventBridge
 * entry under `claims/`, deliveries that could not be forwarded at once under `parked/`. Private,
 * encrypted at rest, TLS only, every object expired after the retention period. It holds deliveries
 * the platforms were told are kept, so deleting the stack keeps it.
 */
export class DeliveryBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: DeliveryBucketProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'ExpireDeliveries', expiration: Duration.days(props.retentionDays), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({ id: 'AwsSolutions-S1', reason: NAG_REASONS.deliveryBucketAccessLogs });
  }

  /** A webhook function's writes: its own provider's prefixes, PutObject only (it never reads, lists or deletes). */
  grantProviderWrites(grantee: IGrantable & IConstruct, providerId: string): void {
    const prefixes = [`${DELIVERY_PREFIXES.claims}${providerId}/`, `${DELIVERY_PREFIXES.parked}${providerId}/`];
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'StoreOwnDeliveries', actions: ['s3:PutObject'], resources: prefixes.map((prefix) => this.objectsArn(prefix)) }),
    );
    this.acknowledgePrefixGrants(grantee, prefixes);
  }

  /**
   * The redrive's access: list and read and delete under `parked/`, write under `claims/` (a redriven
   * delivery refused inline travels as a claim check), nothing else.
   */
  grantRedrive(grantee: IGrantable & IConstruct): void {
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ListParkedDeliveries',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${DELIVERY_PREFIXES.parked}*`] } },
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'RedriveParkedDeliveries', actions: ['s3:GetObject', 's3:DeleteObject'], resources: [this.objectsArn(DELIVERY_PREFIXES.parked)] }),
    );
    principal.addToPrincipalPolicy(new PolicyStatement({ sid: 'StoreClaimChecks', actions: ['s3:PutObject'], resources: [this.objectsArn(DELIVERY_PREFIXES.claims)] }));
    this.acknowledgePrefixGrants(grantee, [DELIVERY_PREFIXES.parked, DELIVERY_PREFIXES.claims]);
  }

  private objectsArn(prefix: string): string {
    return this.bucket.arnForObjects(`${prefix}*`);
  }

  /** cdk-nag's IAM5 finding for each prefix wildcard, acknowledged on the grantee alone, finding by finding. */
  private acknowledgePrefixGrants(grantee: IConstruct, prefixes: readonly string[]): void {
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    for (const prefix of prefixes) {
      Validations.of(grantee).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`, reason: NAG_REASONS.deliveryPrefixGrant });
    }
  }
}
