import { ENDPOINTS, protectArgs } from "../../api/index.ts";
import { defineEndpoint } from "../../rpc/index.ts";
import { holdTag, listHeldVersions, moveCursor, placeHold, releaseHold, versionOf } from "../../zfs/index.ts";
import { receiveTarget, requireReadable, withZfsErrors, type ServerContext } from "../context.ts";

/**
 * `protect`: moves the identity's hold (`zferry_<identity>`) onto the snapshot that is now its
 * incremental base, then releases it from the dataset's other snapshots. Any identity that may
 * read a dataset (or pushes into it) may protect its base there; the tag names it, so
 * `zfs release zferry_<identity> …` undoes it, and several identities keep their own bases.
 *
 * zfs-fuse cannot list tags (`zfs holds`), so the release is tried on every other snapshot that
 * carries any hold (`userrefs` > 0, read in the listing); "no such tag" there means it was not ours.
 *
 * Where zfs has bookmarks (OpenZFS) the base also gets the identity's bookmark cursor
 * (zfs/cursor.ts), and its older cursors go.
 */
export function protectEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.protect,
    args: protectArgs,
    body: "none",
    response: "value",
    async handle(args, h): Promise<{ held: string; released: string[]; cursor?: string }> {
      const ds = args.received ? receiveTarget(ctx, args.dataset) : args.dataset;
      if (!args.received) requireReadable(ctx, ds);
      h.note.dataset = ds;
      const tag = holdTag(ctx.identity);
      return withZfsErrors(async () => {
        const base = versionOf(ds, "snapshot", args.snapshot);
        await placeHold(ctx.runner, base, { tag });
        const versions = await listHeldVersions(ctx.runner, ds);
        const held = versions.filter((v) => v.name.kind === "snapshot" && v.name.name !== args.snapshot && v.userrefs > 0);
        const released: string[] = [];
        for (const { name } of held) if (await releaseHold(ctx.runner, name, { tag })) released.push(name.name);
        if (!ctx.caps.bookmarks) return { held: args.snapshot, released };
        const bookmarks = versions.filter((v) => v.name.kind === "bookmark").map((v) => v.name.name as string);
        const { cursor } = await moveCursor(ctx.runner, ds, { identity: ctx.identity, snapshot: args.snapshot, existing: bookmarks });
        return { held: args.snapshot, released, cursor };
      });
    },
  });
}
