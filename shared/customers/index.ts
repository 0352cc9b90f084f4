/** The customer directory: one profile type, one interface, and its adapters. */
export type { CustomerDirectory, CustomerProfile, LookupOptions } from './profile.js';
export { CUSTOMERS_TABLE } from './table.js';
export { parseCustomerProfile, normaliseEmail, type ProfileParse } from './parse.js';
export { DynamoDbDirectory, type DynamoDbDirectoryOptions, type RecordSessionOptions } from './dynamodb.js';
export { defaultDynamoDbClient } from '../aws/dynamodb-client.js';
export { recordSession, type RecordSessionInput } from './record-session.js';
export {
  HttpDirectory,
  bearerTokenFromSecret,
  HTTP_DIRECTORY_DEFAULTS,
  BEARER_TOKEN_DEFAULTS,
  type HttpDirectoryOptions,
  type TokenProvider,
  type TokenRequest,
  type BearerTokenOptions,
} from './http.js';
export { InMemoryDirectory } from './memory.js';
export {
  directoryFromEnv,
  unavailableDirectory,
  DirectoryConfigError,
  seedCustomers,
  parseCustomerProfiles,
  DIRECTORY_KINDS,
  type DirectoryKind,
  type ProfilesParse,
} from './from-env.js';
