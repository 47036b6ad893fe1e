/**
 * A job's connections, one per worker (parallel-tree.ts): the session the job opened first, and
 * more opened on demand over the same ssh connection (ssh-share.ts). All of them close with the job.
 */
import type { Config, JobConfig } from "../config/index.ts";
import type { LaneSource } from "./parallel-tree.ts";
import { openJobSession, type JobSession } from "./session.ts";
import { sshShare, type SshShare } from "./ssh-share.ts";

export interface FirstLane {
  readonly session: JobSession;
  /** The shared ssh connection's socket, when there is one. */
  readonly share: SshShare | null;
  /** Closes the session, then removes the socket's directory. */
  close(): Promise<void>;
}

export interface JobLanes extends LaneSource<JobSession>, AsyncDisposable {}

/** Opens the job's first session, the master of the shared connection where there will be others. */
export async function openFirstLane(config: Config, job: JobConfig): Promise<FirstLane> {
  const share = job.connect.type === "ssh" && job.concurrency > 1 ? sshShare(job.connect) : null;
  try {
    const session = await openJobSession(config, job, { sshOptions: share?.master ?? [] });
    const close = async () => {
      await session.close();
      share?.[Symbol.dispose]();
    };
    return { session, share, close };
  } catch (err) {
    share?.[Symbol.dispose]();
    throw err;
  }
}

/** The lanes of a job whose first session is `first`; disposing closes the ones it opened (not `first`). */
export function jobLanes(config: Config, job: JobConfig, first: JobSession, share: SshShare | null): JobLanes {
  const opened: JobSession[] = [];
  return {
    first,
    async open() {
      const session = await openJobSession(config, job, { sshOptions: share?.session ?? [] });
      opened.push(session);
      return session;
    },
    broken: (lane) => lane.broken(),
    async [Symbol.asyncDispose]() {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
}
