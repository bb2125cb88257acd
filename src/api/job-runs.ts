// The fields a background job's run shows in Harbor's history models (GCHistory, and minato's
// scrub runs shaped like it): kind, status in Harbor's words, and its times.
import type { JobRun } from '../jobs/scheduler.js';

export const JOB_STATUS = { running: 'Running', succeeded: 'Success', failed: 'Error', stopped: 'Stopped' } as const satisfies Record<JobRun['status'], string>;

/** id, job_kind, job_status, creation_time and update_time of a run. */
export function jobRunFields(run: JobRun) {
  return {
    id: run.id,
    job_kind: run.trigger === 'manual' ? ('MANUAL' as const) : ('SCHEDULE' as const),
    job_status: JOB_STATUS[run.status],
    creation_time: new Date(run.startedAt).toISOString(),
    update_time: new Date(run.finishedAt ?? Date.now()).toISOString(),
  };
}
