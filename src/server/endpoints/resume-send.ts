/**
 * resume_send: continue an interrupted send from a receive_resume_token (OpenZFS only).
 * A token is client input: it is decoded with `zfs send -nvt` and everything it names is checked
 * before `zfs send -t` runs (openzfs#14153: a crafted token can otherwise send any dataset).
 */
import { ENDPOINTS, resumeSendArgs, type WireSendFlag } from "../../api/index.ts";
import { RpcError, defineEndpoint, type OctetProducer } from "../../rpc/index.ts";
import { ZfsError, decodeResumeToken, listVersions, quote, resumeSendArgv } from "../../zfs/index.ts";
import { requireReadable, withZfsErrors, type ServerContext } from "../context.ts";
import { requireRawIfEncrypted } from "../encryption-policy.ts";
import { checkedCompression, startedSendStream, zfsSendProducer } from "./send.ts";

export function resumeSendEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.resumeSend,
    args: resumeSendArgs,
    body: "none",
    response: "octets",
    async handle(args, h): Promise<OctetProducer> {
      if (!ctx.caps.resumable) throw new RpcError("unsupported", "Resuming a send needs OpenZFS resume tokens; the server's zfs does not support them");
      let info;
      try {
        info = await decodeResumeToken(ctx.runner, args.token);
      } catch (err) {
        if (err instanceof ZfsError || err instanceof TypeError) throw new RpcError("bad_request", `Invalid resume token: ${(err as Error).message}`);
        throw err;
      }
      const ds = info.toname.dataset;
      requireReadable(ctx, ds);
      h.note.dataset = ds;
      // zfs send -t takes its flags from the token, so a token without rawok would decrypt.
      const [versions] = await Promise.all([withZfsErrors(() => listVersions(ctx.runner, ds)), requireRawIfEncrypted(ctx, ds, info.rawok)]);
      const to = versions.find((v) => v.name.full === info.toname.full);
      if (!to || to.guid !== info.toguid) throw new RpcError("conflict", `The resume token names ${quote(info.toname.full)}, which no longer exists with GUID ${info.toguid}`);
      if (info.fromguid !== undefined && info.fromguid !== 0n && !versions.some((v) => v.guid === info.fromguid)) {
        throw new RpcError("permission_denied", `The resume token's incremental source (GUID ${info.fromguid}) is not a version of ${quote(ds)}`);
      }
      // The token fixes the stream's flags; each one it implies must be allowed for this identity.
      // A raw stream is -Lec by definition (zfs-send(8)), and its token says so: the raw grant covers those.
      const implied: WireSendFlag[] = [];
      if (info.rawok) implied.push("raw");
      else {
        if (info.compressok) implied.push("compressed");
        if (info.largeblockok) implied.push("large_blocks");
        if (info.embedok) implied.push("embedded");
      }
      const denied = ctx.acl.checkSendFlags([...implied, ...(args.flags ?? [])]);
      if (denied) throw new RpcError("permission_denied", `Send flag ${quote(denied)} (from the resume token) is not allowed for client ${quote(ctx.identity)}`);
      const compression = checkedCompression(args.compression);
      const argv = await withZfsErrors(async () => resumeSendArgv(args.token, ctx.caps));
      return zfsSendProducer(ctx, startedSendStream(ctx, argv, compression), { compression, note: h.note, rateBytes: args.bandwidth_limit });
    },
  });
}
