// The `storage.driver` config section: where blobs live, one object whose `kind` picks the driver
// (config/schema.ts embeds it; docs/configuration.md documents every shape from these describes).
import { z } from 'zod';

export const filesystemDriverSchema = z
  .strictObject({
    kind: z.literal('filesystem'),
  })
  .describe(
    'Blobs as files under `<data>/blobs`, uploads under `<data>/uploads`: written while hashed, fsynced, then renamed into place. storage.directIO applies. ' +
      'For one process (the embedded mode with SQLite); replicas need a store they share (s3).',
  );

export const s3DriverSchema = z
  .strictObject({
    kind: z.literal('s3'),
    bucket: z
      .string()
      .regex(/^[a-zA-Z0-9._-]{3,255}$/, 'a bucket name: 3 to 255 letters, digits, ".", "_" or "-"')
      .describe('Bucket the blobs are kept in. It must exist: minato never creates or deletes buckets. Readiness (/healthz) checks it with HeadBucket.'),
    endpoint: z
      .string()
      .url()
      .optional()
      .describe('URL of the S3 service, e.g. http://127.0.0.1:7480 for Ceph radosgw or https://minio.example.com:9000. Unset: AWS S3 in `region`.'),
    region: z.string().min(1).default('us-east-1').describe('Region the requests are signed for. AWS: the bucket\'s region; radosgw and MinIO accept the default unless configured otherwise.'),
    forcePathStyle: z
      .boolean()
      .optional()
      .describe(
        'Name the bucket in the path (http://endpoint/bucket/key) instead of the host name (http://bucket.endpoint/key). ' +
          'Unset: path style when `endpoint` is set (radosgw, MinIO and most self-hosted S3 need it), host style on AWS.',
      ),
    prefix: z
      .string()
      .regex(/^[^\\]*$/, 'no backslashes')
      .default('')
      .describe('Key prefix for everything minato writes (`<prefix>/blobs/...`, `<prefix>/uploads/...`), to share a bucket with other data. Leading and trailing slashes are ignored.'),
    credentials: z
      .strictObject({
        accessKeyId: z.string().min(1).describe('Access key id.'),
        secretAccessKey: z.string().min(1).meta({ secret: true }).describe('Secret access key. Secret: never logged.'),
      })
      .optional()
      .describe(
        "Keys of the S3 user. Unset: the AWS SDK's usual chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_PROFILE and ~/.aws, " +
          'web identity tokens (EKS), ECS and EC2 instance roles.',
      ),
    redirect: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe('Send blob downloads to a presigned S3 URL (307) instead of streaming them through minato; clients must be able to reach `endpoint` themselves.'),
        ttlSeconds: z.number().int().min(1).max(604_800).default(600).describe('How long a presigned URL stays valid (at most 7 days, the SigV4 limit).'),
      })
      .prefault({})
      .describe('Presigned redirects for blob downloads.'),
  })
  .describe(
    'Blobs as objects in an S3 bucket (AWS S3, Ceph radosgw, MinIO, ...), shared by every replica: `<prefix>/blobs/<algorithm>/<ab>/<hex>`. ' +
      'Uploads are S3 multipart uploads under `<prefix>/uploads/<id>/` whose state (parts, a buffered tail under 5 MiB, the sha256 state) is plain data kept with the upload, ' +
      'so any replica can continue or commit an upload another one started.',
  );

export const storageDriverSchema = z.discriminatedUnion('kind', [filesystemDriverSchema, s3DriverSchema]).describe('Storage drivers');

export type StorageDriverConfig = z.output<typeof storageDriverSchema>;
export type S3DriverConfig = z.output<typeof s3DriverSchema>;
