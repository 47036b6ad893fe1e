/**
 * Every metric zferry writes to its textfile, in the order the file lists them, with the HELP
 * text the file carries (README § Monitoring mirrors this table). Timestamps and last-run values
 * are gauges; what only grows across runs is a counter, carried over from the file's previous
 * content (a deleted file restarts them at zero, which Prometheus' rate() reads as a reset).
 */

export type MetricType = "gauge" | "counter";

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
}

/** Per job: the label `job`. */
export const JOB_METRICS = [
  { name: "zferry_job_last_attempt_timestamp_seconds", type: "gauge", help: "When the job's last run (not a dry run) ended, in Unix seconds." },
  { name: "zferry_job_last_success_timestamp_seconds", type: "gauge", help: "When the job last ended with every filesystem replicated or up to date, in Unix seconds." },
  { name: "zferry_job_last_run_success", type: "gauge", help: "1 if the job's last run succeeded, 0 if a filesystem failed or the job could not run." },
  { name: "zferry_job_last_duration_seconds", type: "gauge", help: "How long the job's last run took." },
  { name: "zferry_job_runs_total", type: "counter", help: "Runs of the job (not dry runs)." },
  { name: "zferry_job_failed_runs_total", type: "counter", help: "Runs of the job in which a filesystem failed or that could not run." },
  { name: "zferry_job_bytes_total", type: "counter", help: "Stream bytes the job moved, all filesystems." },
  { name: "zferry_job_wire_bytes_total", type: "counter", help: "Bytes on the wire for the job's streams (fewer than the stream bytes with compression)." },
  { name: "zferry_job_snapshots_total", type: "counter", help: "Snapshots the job replicated, all filesystems." },
] as const satisfies readonly MetricFamily[];

/** Per filesystem of a job: the labels `job` and `filesystem` (its name on the sending side). */
export const FILESYSTEM_METRICS = [
  { name: "zferry_filesystem_last_attempt_timestamp_seconds", type: "gauge", help: "When the filesystem was last part of a run, in Unix seconds." },
  { name: "zferry_filesystem_last_success_timestamp_seconds", type: "gauge", help: "When the filesystem last ended replicated, up to date or skipped, in Unix seconds." },
  { name: "zferry_filesystem_last_run_success", type: "gauge", help: "1 if the filesystem succeeded in the job's last run, 0 if it failed." },
  { name: "zferry_filesystem_last_duration_seconds", type: "gauge", help: "How long the filesystem's transfer took in the last run (0 when nothing was sent)." },
  { name: "zferry_filesystem_bytes_total", type: "counter", help: "Stream bytes moved for the filesystem." },
  { name: "zferry_filesystem_wire_bytes_total", type: "counter", help: "Bytes on the wire for the filesystem's streams (fewer than the stream bytes with compression)." },
  { name: "zferry_filesystem_snapshots_total", type: "counter", help: "Snapshots replicated for the filesystem." },
  { name: "zferry_filesystem_failures_total", type: "counter", help: "Runs in which the filesystem failed." },
] as const satisfies readonly MetricFamily[];

export const METRIC_FAMILIES: readonly MetricFamily[] = [...JOB_METRICS, ...FILESYSTEM_METRICS];

export type JobMetricName = (typeof JOB_METRICS)[number]["name"];
export type FilesystemMetricName = (typeof FILESYSTEM_METRICS)[number]["name"];
