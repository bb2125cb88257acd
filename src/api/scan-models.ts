// The management API's models of vulnerability scanning, in Harbor's names (api/v2.0/swagger.yaml):
// NativeReportSummary (scan_overview), HarborVulnerabilityReport (the vulnerabilities addition),
// the scan-all schedule and metrics. Apart from scan-routes.ts so that the artifact routes embed
// scan_overview without an import cycle.
import { z } from 'zod';
import type { StoredReport } from '../scan/reports.js';
import { ScheduleObj } from './gc-routes.js';
import { model, timestamp } from './models.js';

/** The report type minato produces (Harbor's native report, version 1.1). */
export const VULNERABILITY_REPORT_TYPE = 'application/vnd.security.vulnerability.report; version=1.1';

const SEVERITY = z.enum(['None', 'Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical']);

const Scanner = model('Scanner', z.object({ name: z.string(), vendor: z.string(), version: z.string() }).describe('The scanner that made a report.'));

const VulnerabilitySummary = model(
  'VulnerabilitySummary',
  z.object({
    total: z.number().int(),
    fixable: z.number().int().describe('Findings with a fixed version.'),
    summary: z.record(z.string(), z.number().int()).describe('Findings per severity (Critical, High, ...).'),
  }),
);

export const NativeReportSummary = model(
  'NativeReportSummary',
  z.object({
    report_id: z.string(),
    scan_status: z.enum(['Pending', 'Running', 'Success', 'Error', 'Stopped']),
    severity: SEVERITY.describe('The highest severity found; None when nothing was.'),
    duration: z.number().int().describe('Seconds the scan took.'),
    summary: VulnerabilitySummary.optional(),
    start_time: timestamp,
    end_time: timestamp.optional(),
    complete_percent: z.number().int().min(0).max(100),
    scanner: Scanner,
  }),
);

/** scan_overview: the latest report's summary, keyed by its MIME type. */
export const ScanOverview = model('ScanOverview', z.record(z.string(), NativeReportSummary).describe('The summary of the latest report per report MIME type.'));

const VulnerabilityItem = model(
  'VulnerabilityItem',
  z.object({
    id: z.string(),
    package: z.string(),
    version: z.string(),
    fix_version: z.string().describe('The smallest version that fixes it; empty when there is none yet.'),
    severity: SEVERITY.exclude(['None']),
    description: z.string(),
    links: z.array(z.string()),
    preferred_cvss: z.object({ score_v3: z.number().optional(), vector_v3: z.string().optional() }).optional(),
    cwe_ids: z.array(z.string()),
    vendor_attributes: z.record(z.string(), z.unknown()).describe('minato: aliases (other ids of it) and the layer the package was written in.'),
  }),
);

export const HarborVulnerabilityReport = model(
  'HarborVulnerabilityReport',
  z.object({
    generated_at: timestamp,
    artifact: z.object({ repository: z.string(), digest: z.string(), mime_type: z.string() }),
    scanner: Scanner,
    severity: SEVERITY,
    vulnerabilities: z.array(VulnerabilityItem),
  }),
);

export const ScanAllScheduleModel = model('ScanAllSchedule', z.object({ schedule: ScheduleObj.optional() }).describe('The scan-all schedule (Harbor\'s Schedule).'));

export const Stats = model(
  'Stats',
  z.object({
    total: z.number().int().describe('Images the run went through so far.'),
    completed: z.number().int(),
    metrics: z.record(z.string(), z.number().int()).describe('Images per outcome (Success, Error).'),
    ongoing: z.boolean(),
    trigger: z.enum(['Manual', 'Schedule']).optional(),
  }),
);

/** A report's summary as Harbor's NativeReportSummary. */
export function nativeSummary(r: StoredReport, percent?: number): z.input<typeof NativeReportSummary> {
  const iso = (ms: number) => new Date(ms).toISOString();
  const done = r.status === 'Success' || r.status === 'Error' || r.status === 'Stopped';
  return {
    report_id: r.reportId,
    scan_status: r.status,
    severity: r.summary?.severity ?? 'None',
    duration: r.endTime === undefined ? 0 : Math.round((r.endTime - r.startTime) / 1000),
    ...(r.summary ? { summary: { total: r.summary.total, fixable: r.summary.fixable, summary: r.summary.counts as Record<string, number> } } : {}),
    start_time: iso(r.startTime),
    ...(r.endTime !== undefined ? { end_time: iso(r.endTime) } : {}),
    complete_percent: done ? 100 : (percent ?? 0),
    scanner: r.scanner,
  };
}

