/**
 * Interrupted transfers on real OpenZFS, resumed from real receive_resume_tokens: a pull, an initial
 * push and an incremental push, each killed mid-stream (SIGKILL of the client) and run again. Then
 * tokens as a hostile client would present them: a stale one, one naming a dataset outside the ACL,
 * and one asking for a decrypted send of an encrypted dataset (openzfs/zfs#14153).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { describeOpenZfs, type Guest, openzfs, OPENZFS_TEST_TIMEOUT_MS } from "./openzfs/guest.ts";
import { createScenario, succeeded, type Scenario } from "./openzfs/scenario.ts";

setDefaultTimeout(OPENZFS_TEST_TIMEOUT_MS);

/** Stream size of one interrupted transfer: a few seconds at the guest's ~40 MB/s. */
const BIG_MB = 160;

describeOpenZfs("resume from receive tokens", () => {
  let g: Guest;
  let s: Scenario;
  const pulled = (rel: string) => `${s.dst}/${s.src}/${rel}`;
  const pushed = (rel: string) => `${s.dst}/sink/${s.src}/${rel}`;

  beforeAll(async () => {
    g = await openzfs();
    s = await createScenario(g, "resume");
    await s.configure({
      server: [
        `[clients.backup1]`,
        `filesystems = { "${s.src}/big<" = true, "${s.src}/up<" = true, "${s.src}/enc<" = true }`,
        `receive_root = "${s.dst}/sink"`,
        `send_flags = ["raw"]`,
      ].join("\n"),
      client: [
        s.job("p", "pull", { root: `"${s.dst}"`, filesystems: `{ "${s.src}/big<" = true }` }),
        s.job("up", "push", { filesystems: `{ "${s.src}/up<" = true }` }),
      ].join("\n"),
    });
    // compression=off: the zeros are real blocks, so the stream is as large as the file.
    await g.sh(
      [
        `zfs create -o compression=off ${s.src}/big`,
        `zfs create -o compression=off ${s.src}/up`,
        `zfs create -o compression=off ${s.src}/outside`,
        `zfs create -o mountpoint=none ${s.dst}/sink`,
        `dd if=/dev/zero of=/${s.src}/big/zero bs=1M count=${BIG_MB} status=none`,
        `dd if=/dev/zero of=/${s.src}/up/zero bs=1M count=${BIG_MB} status=none`,
        `dd if=/dev/zero of=/${s.src}/outside/zero bs=1M count=8 status=none`,
        `zfs snapshot ${s.src}/big@r1 && zfs snapshot ${s.src}/up@u1 && zfs snapshot ${s.src}/outside@o1`,
      ].join(" && "),
    );
  });
  afterAll(() => s?.[Symbol.asyncDispose]());

  /** Starts the job, kills the client once `zfs receive` into `target` has read `mb` MiB, waits until zfs is done. */
  async function interrupt(args: string[], target: string, mb = 40): Promise<void> {
    const client = s.spawnZferry(args);
    // [z]: the pattern must not match the shell that runs pgrep.
    const receive = `pgrep -f '[z]fs receive .* ${target}(@|$)' | head -n 1`;
    await poll(`zfs receive past ${mb} MiB`, async () => {
      const out = await g.run(`pid=$(${receive}); [ -n "$pid" ] && awk '/^rchar/ {print $2}' /proc/$pid/io`);
      return Number(out.stdout.trim()) > mb << 20;
    });
    await g.sh(`kill -KILL $(cat ${s.dir}/client.pid)`);
    await client.exited;
    await poll("zfs receive to save its state and exit", async () => (await g.run(receive)).stdout.trim() === "", {
      // What still runs, and what it holds open, says who keeps the stream alive.
      diagnose: async () => (await g.run(`ps -eo pid,ppid,etime,args | grep -E 'zfs|ssh|zferry' | grep -v grep; for p in $(${receive}); do ls -l /proc/$p/fd; done`)).stdout,
    });
  }

  async function token(dataset: string): Promise<string> {
    return (await g.sh(`zfs get -H -o value receive_resume_token ${dataset}`)).trim();
  }

  test("a pull killed mid-stream resumes from the token on the next run", async () => {
    await interrupt(["pull", "p"], pulled("big"));
    expect(await token(pulled("big"))).toMatch(/^1-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/);
    const plan = await s.zferry(["pull", "p", "--dry-run"]);
    expect(plan.stdout + plan.stderr).toContain("(resume) → r1");
    const run = await s.zferry(["pull", "p"]);
    expect(succeeded(run)).toContain("1 done");
    expect(await guid(`${pulled("big")}@r1`)).toBe(await guid(`${s.src}/big@r1`));
    expect(await token(pulled("big"))).toBe("-");
  });

  test("an initial push killed mid-stream resumes from the server's token", async () => {
    await interrupt(["push", "up"], pushed("up"));
    expect(await token(pushed("up"))).toMatch(/^1-/);
    const run = await s.zferry(["push", "up"]);
    expect(succeeded(run)).toContain("1 done");
    expect(await guid(`${pushed("up")}@u1`)).toBe(await guid(`${s.src}/up@u1`));
  });

  test("an incremental push killed mid-stream resumes too", async () => {
    await g.sh(`dd if=/dev/zero of=/${s.src}/up/zero2 bs=1M count=${BIG_MB} status=none && zfs snapshot ${s.src}/up@u2`);
    await interrupt(["push", "up"], pushed("up"));
    // An incremental receive keeps its partial state on the existing dataset.
    expect(await token(pushed("up"))).toMatch(/^1-/);
    const run = await s.zferry(["push", "up"]);
    expect(succeeded(run)).toContain("1 done");
    expect(await guid(`${pushed("up")}@u2`)).toBe(await guid(`${s.src}/up@u2`));
    expect(await token(pushed("up"))).toBe("-");
  });

  /** A real token for a partial receive of `snapshot` into `zdst/<id>/tok-N`, made with plain zfs. */
  let tokens = 0;
  async function partialToken(snapshot: string, sendFlags = ""): Promise<string> {
    const into = `${s.dst}/tok${++tokens}`;
    await g.run(`zfs send ${sendFlags} ${snapshot} | head -c 3000000 | zfs receive -s -u ${into}`);
    return token(into);
  }

  /** One resume_send call with `token`, as a hostile client with the scenario's key makes it. */
  async function resumeCall(tokenValue: string, flags: string[] = []): Promise<{ status: string; message?: string; bytes: number }> {
    const ssh = `ssh -T -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i ${s.dir}/client_ed25519 root@127.0.0.1`;
    const out = await g.sh(`${g.checkout}/bun ${g.checkout}/test/fixtures/resume-call.ts ${tokenValue} ${flags.join(",") || "''"} -- ${ssh}`);
    return JSON.parse(out.trim().split("\n").at(-1)!);
  }

  test("a token naming a dataset outside the ACL is refused, and sends nothing", async () => {
    const crafted = await partialToken(`${s.src}/outside@o1`);
    const answer = await resumeCall(crafted);
    expect(answer).toMatchObject({ status: "permission_denied", bytes: 0 });
    expect(answer.message).toContain(`${s.src}/outside`);
  });

  test("a stale token (its snapshot destroyed since) is refused", async () => {
    await g.sh(`zfs snapshot ${s.src}/big@gone`);
    const stale = await partialToken(`${s.src}/big@gone`);
    await g.sh(`zfs destroy ${s.src}/big@gone`);
    const answer = await resumeCall(stale);
    expect(answer).toMatchObject({ status: "conflict", bytes: 0 });
    expect(answer.message).toContain("no longer exists");
  });

  test("a token for a decrypted send of an encrypted dataset is refused; its raw twin is served", async () => {
    await g.sh(
      `echo 'correct horse battery' > ${s.dir}/key && ` +
        `zfs create -o encryption=on -o keyformat=passphrase -o keylocation=file://${s.dir}/key ${s.src}/enc && ` +
        `echo secret > /${s.src}/enc/s.txt && dd if=/dev/urandom of=/${s.src}/enc/r bs=1M count=6 status=none && zfs snapshot ${s.src}/enc@e1`,
    );
    const decrypted = await partialToken(`${s.src}/enc@e1`);
    const refused = await resumeCall(decrypted);
    expect(refused).toMatchObject({ status: "permission_denied", bytes: 0 });
    expect(refused.message).toContain("raw");
    const raw = await partialToken(`${s.src}/enc@e1`, "-w");
    const served = await resumeCall(raw);
    expect(served.status).toBe("ok");
    expect(served.bytes).toBeGreaterThan(0);
  });
});

async function guid(snapshot: string): Promise<string> {
  const g = await openzfs();
  return (await g.sh(`zfs get -H -p -o value guid ${snapshot}`)).trim();
}

async function poll(what: string, check: () => Promise<boolean>, options: { timeoutMs?: number; diagnose?: () => Promise<string> } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${options.diagnose ? `\n${await options.diagnose()}` : ""}`);
    await Bun.sleep(300);
  }
}
