/**
 * What zferry asks of OpenZFS beyond a plain send, on the real thing: raw sends of an encrypted tree
 * whose keys the target never gets, a bookmark as the incremental source once the common snapshot
 * is gone, compressed (-c) and large-block (-L) sends, and a hostile property stream that the
 * receive itself confines (`zfs receive -u -x … -o …`).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { describeOpenZfs, type Guest, openzfs, OPENZFS_TEST_TIMEOUT_MS } from "./openzfs/guest.ts";
import { createScenario, succeeded, type Scenario } from "./openzfs/scenario.ts";

setDefaultTimeout(OPENZFS_TEST_TIMEOUT_MS);

describeOpenZfs("send options", () => {
  let g: Guest;
  let s: Scenario;
  const under = (root: string, rel: string) => `${s.dst}/${root}/${s.src}/${rel}`;

  beforeAll(async () => {
    g = await openzfs();
    s = await createScenario(g, "sendopts");
    const job = (name: string, root: string, filesystems: string, send?: string) =>
      s.job(name, "pull", { root: `"${s.dst}/${root}"`, filesystems: `{ "${s.src}/${filesystems}<" = true }`, ...(send ? { send } : {}) });
    await s.configure({
      server: [
        `[clients.backup1]`,
        `filesystems = { "${s.src}<" = true }`,
        `receive_root = "${s.dst}/sink"`,
        `send_flags = ["raw", "compressed", "large_blocks", "properties"]`,
        // A client that may send properties: the receive must confine them anyway.
        `receive = { properties = true }`,
      ].join("\n"),
      client: [
        job("raw", "r", "enc", "{ raw = true }"),
        job("decrypted", "d", "enc"),
        job("bm", "b", "bm"),
        job("plain", "u", "cmp"),
        job("packed", "c", "cmp", "{ compressed = true, large_blocks = true }"),
        // What a compromised source sends whatever the job asked: here the job asks for it.
        job("props", "p", "evil", "{ properties = true }"),
        s.job("hostile", "push", { filesystems: `{ "${s.src}/evil<" = true }`, send: "{ properties = true }" }),
      ].join("\n"),
    });
    await g.sh(
      [
        `echo 'correct horse battery' > ${s.dir}/key`,
        `zfs create -o encryption=on -o keyformat=passphrase -o keylocation=file://${s.dir}/key ${s.src}/enc`,
        `zfs create ${s.src}/enc/child`,
        `echo secret > /${s.src}/enc/s.txt && echo child > /${s.src}/enc/child/c.txt`,
        `zfs snapshot -r ${s.src}/enc@e1`,
        `zfs create ${s.src}/bm && echo one > /${s.src}/bm/f && zfs snapshot ${s.src}/bm@s1`,
        // Compressible data in 1 MiB records: -c sends it as stored, -L keeps the records whole.
        `zfs create -o compression=gzip -o recordsize=1M ${s.src}/cmp`,
        `yes zferry-compressible-line | head -c 12000000 > /${s.src}/cmp/text && zfs snapshot ${s.src}/cmp@c1`,
        `zfs create -o mountpoint=/${s.src}-evil-mnt -o setuid=on -o exec=on -o devices=on ${s.src}/evil`,
        `echo x > /${s.src}-evil-mnt/x && zfs snapshot ${s.src}/evil@v1`,
        ...["r", "d", "b", "u", "c", "p", "sink"].map((root) => `zfs create -o mountpoint=none ${s.dst}/${root}`),
      ].join(" && "),
    );
  });
  afterAll(() => s?.[Symbol.asyncDispose]());

  test("a raw pull of an encrypted tree: the target never gets the keys; a raw incremental follows", async () => {
    expect(succeeded(await s.zferry(["pull", "raw"]))).toContain("2 done");
    const props = await g.sh(`zfs get -H -o name,value keystatus,encryptionroot -r -t filesystem ${s.dst}/r/${s.src}/enc`);
    expect(props).toBe(
      [
        `${under("r", "enc")}\tunavailable`,
        `${under("r", "enc")}\t${under("r", "enc")}`,
        `${under("r", "enc/child")}\tunavailable`,
        // Sent one by one (not -R), each raw-received dataset is its own encryption root, wrapped
        // with the same key material: each takes `zfs load-key` on its own after a restore.
        `${under("r", "enc/child")}\t${under("r", "enc/child")}`,
        "",
      ].join("\n"),
    );
    await g.sh(`echo more > /${s.src}/enc/child/d.txt && zfs snapshot -r ${s.src}/enc@e2`);
    expect(succeeded(await s.zferry(["pull", "raw"]))).toContain("2 done");
    expect(await guid(`${under("r", "enc/child")}@e2`)).toBe(await guid(`${s.src}/enc/child@e2`));
  });

  test("a pull of an encrypted dataset without raw is refused: the key would see plaintext", async () => {
    const run = await s.zferry(["pull", "decrypted"]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout + run.stderr).toContain("may get it only as a raw send");
    expect((await g.run(`zfs list -H -o name ${under("d", "enc")}`)).exitCode).not.toBe(0);
  });

  test("the common snapshot destroyed on the source: its bookmark is the incremental source", async () => {
    expect(succeeded(await s.zferry(["pull", "bm"]))).toContain("1 done");
    await g.sh(`zfs bookmark ${s.src}/bm@s1 ${s.src}/bm#s1 && echo two > /${s.src}/bm/f && zfs snapshot ${s.src}/bm@s2 && zfs destroy ${s.src}/bm@s1`);
    const plan = succeeded(await s.zferry(["pull", "bm", "--dry-run"]));
    expect(plan).toContain("#s1 → s2");
    expect(succeeded(await s.zferry(["pull", "bm"]))).toContain("1 done");
    expect(await guid(`${under("b", "bm")}@s2`)).toBe(await guid(`${s.src}/bm@s2`));
  });

  test("compressed and large-block sends move the blocks as stored", async () => {
    const sentBytes = async () => Number(/endpoint=send .*?bytes=(\d+)/.exec((await s.serverLog()).split("\n").filter((l) => l.includes("endpoint=send ")).at(-1) ?? "")?.[1]);
    const largeBlocks = async () => (await g.sh(`zpool get -H -o value feature@large_blocks ${g.state.pools.target}`)).trim();
    // Without -L, 1 MiB records arrive split into 128 KiB ones: the target pool's feature stays unused.
    expect(succeeded(await s.zferry(["pull", "plain"]))).toContain("1 done");
    const plain = await sentBytes();
    expect(await largeBlocks()).toBe("enabled");
    expect(succeeded(await s.zferry(["pull", "packed"]))).toContain("1 done");
    const packed = await sentBytes();
    expect(await largeBlocks()).toBe("active");
    // 12 MB of one repeated line: gzip stores it in a small fraction, and -c sends that.
    expect(plain).toBeGreaterThan(12_000_000);
    expect(packed).toBeLessThan(plain / 10);
    expect(await guid(`${under("c", "cmp")}@c1`)).toBe(await guid(`${s.src}/cmp@c1`));
  });

  test.each([
    ["pushed to the server", ["push", "hostile"], "sink"],
    ["pulled from the server", ["pull", "props"], "p"],
  ] as const)("a property stream %s is confined by the receive itself: not mounted, nothing it asked for", async (_how, args, root) => {
    expect(succeeded(await s.zferry([...args]))).toContain("1 done");
    const target = `${s.dst}/${root}/${s.src}/evil`;
    const props = await g.sh(`zfs get -H -o property,value,source mountpoint,setuid,exec,devices,readonly,sharenfs,mounted ${target}`);
    expect(props).toBe(
      [
        // Inherited from the placeholder above it (mountpoint=none), not the stream's /…-evil-mnt.
        `mountpoint\tnone\tinherited from ${s.dst}/${root}/${s.src}`,
        "setuid\toff\tlocal",
        "exec\toff\tlocal",
        "devices\toff\tlocal",
        "readonly\ton\tlocal",
        `sharenfs\toff\tdefault`,
        "mounted\tno\t-",
        "",
      ].join("\n"),
    );
  });
});

async function guid(snapshot: string): Promise<string> {
  const g = await openzfs();
  return (await g.sh(`zfs get -H -p -o value guid ${snapshot}`)).trim();
}
