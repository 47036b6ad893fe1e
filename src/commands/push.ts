/** `zferry push JOB`: send local filesystems into the server's receive_root for our identity. */
import { jobCommand } from "./_job-command.ts";

export default jobCommand("push", "Push the job's filesystems into the server's receive_root");
