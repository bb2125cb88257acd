// The `scrub` config section (config/schema.ts embeds it; docs/configuration.md documents it from
// these describes): when the scrub runs by itself, how fast it reads, how old orphan bytes must be.
import { Cron } from 'croner';
import { z } from 'zod';

export const scrubConfigSchema = z
  .strictObject({
    schedule: z
      .string()
      .optional()
      .superRefine((value, ctx) => {
        if (value === undefined) return;
        try {
          new Cron(value, { paused: true }).stop();
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `not a cron expression (5 fields, or 6 with seconds first, e.g. "0 3 * * 0" for Sundays at 03:00): ${(err as Error).message}` });
        }
      })
      .describe(
        'When the scrub runs by itself: a cron expression (5 fields, or 6 with seconds first; e.g. "0 3 * * 0", Sundays at 03:00, server time). ' +
          'Scheduled runs only report (the metric minato_scrub_last_findings says what they found); repair with minato scrub --repair. Unset: only when asked.',
      ),
    rateMBps: z
      .number()
      .nonnegative()
      .default(50)
      .describe(
        'How fast the scrub reads blobs back to re-hash them, in MB/s (10^6 bytes), so pulls and pushes go on at their pace meanwhile. 0: as fast as the storage gives (for a registry taken out of service).',
      ),
    orphanGraceMinutes: z
      .number()
      .nonnegative()
      .default(60)
      .describe(
        'Stored bytes that no metadata knows are orphans only once they were last written longer ago than this: younger ones may be a push whose metadata is not written yet, or bytes a push is about to reuse. Keep it above the longest push.',
      ),
  })
  .prefault({})
  .describe('Scrub: re-hash every blob, check every manifest and its references, find bytes no metadata knows (docs/operations.md, "Scrub").');
