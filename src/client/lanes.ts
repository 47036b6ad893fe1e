/**
 * A job's connections, one per worker (parallel-tree.ts): the session the job opened first, and
 * more opened on demand, sharing ssh connections where they can (ssh-share.ts). All of them close
 * with the job.
 */
import type { Config, JobConfig } from "../config/index.ts";
import type { LaneSource } from "./parallel-tree.ts";
import { openJobSession, type JobSession } from "./session.ts";
import { sshConnections, type SshConnections } from "./ssh-share.ts";

export interface FirstLane {
  readonly session: JobSession;
  /** The job's shared ssh connections, when it shares any. */
  readonly connections: SshConnections | null;
  /** Closes the session, then removes the connections' sockets. */
  close(): Promise<void>;
}

export interface JobLanes extends LaneSource<JobSession>, AsyncDisposable {}

/** Opens the job's first session, the master of its first shared connection where it shares any. */
export async function openFirstLane(config: Config, job: JobConfig): Promise<FirstLane> {
  const connections = job.connect.type === "ssh" ? sshConnections(job.connect, job.concurrency) : null;
  try {
    const session = await openLane(config, job, connections);
    const close = async () => {
      await session.close();
      connections?.[Symbol.dispose]();
    };
    return { session, connections, close };
  } catch (err) {
    connections?.[Symbol.dispose]();
    throw err;
  }
}

/** The lanes of a job whose first lane is `first`; disposing closes the ones it opened (not `first`'s). */
export function jobLanes(config: Config, job: JobConfig, first: FirstLane): JobLanes {
  const opened: JobSession[] = [];
  return {
    first: first.session,
    async open() {
      const session = await openLane(config, job, first.connections);
      opened.push(session);
      return session;
    },
    broken: (lane) => lane.broken(),
    async [Symbol.asyncDispose]() {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
}

// --- internal ---

/** One more session of the job, on its shared connections where it has them. */
function openLane(config: Config, job: JobConfig, connections: SshConnections | null): Promise<JobSession> {
  const open = (sshOptions: readonly string[]) => openJobSession(config, job, { sshOptions });
  return connections ? connections.session(open) : open([]);
}
