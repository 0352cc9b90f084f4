/**
 * The part of the S3 client the delivery store uses, which it loads on first use (store.ts). A module
 * of its own so that the bundle's S3 chunk holds these commands only: esbuild cannot tree-shake what
 * an `import()` of the whole package hands back.
 */
export { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
