import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CUSTOMERS_TABLE, DEDUPE_TABLE } from '../../shared/customers/table.js';

/**
 * The customers table the lookup providers read (layout in shared/customers/table.ts: `pk`, the
 * `byEmail` index on `emailLower`, `expiresAt` TTL for session items). Your users live here, so it
 * survives stack deletion and keeps 35 days of point-in-time recovery.
 */
export class CustomersTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: CUSTOMERS_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: CUSTOMERS_TABLE.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: CUSTOMERS_TABLE.emailIndex,
      partitionKey: { name: CUSTOMERS_TABLE.emailIndexKey, type: AttributeType.STRING },
      // The directory answers a whole profile from an email lookup without a second read.
      projectionType: ProjectionType.ALL,
    });
  }

  /** The index's ARN, for a policy that allows Query on it and on nothing else. */
  get emailIndexArn(): string {
    return `${this.table.tableArn}/index/${CUSTOMERS_TABLE.emailIndex}`;
  }
}

/**
 * The webhook de-duplication table (shared/customers/table.ts): one item per delivered event, gone
 * by TTL after a day. Point-in-time recovery is on as for every table here; for a table this
 * small it costs next to nothing.
 */
export class DedupeTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: DEDUPE_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: DEDUPE_TABLE.ttlAttribute,
      // Nothing here outlives a day; deleting the stack may delete it.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
