/** `zferry pull JOB`: replicate a stdinserver's filesystems into the job's root here. */
import { jobCommand } from "./_job-command.ts";

export default jobCommand("pull", "Pull the filesystems a stdinserver offers into the job's root");
