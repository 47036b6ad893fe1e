/** `zferry run JOB`: run a job by its configured type (pull or push); what the systemd timer starts. */
import { jobCommand } from "./_job-command.ts";

export default jobCommand("run", "Run a job by its configured type (pull or push)");
