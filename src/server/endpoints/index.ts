import { EndpointRegistry } from "../../rpc/index.ts";
import type { ServerContext } from "../context.ts";
import { infoEndpoint } from "./info.ts";
import { listFilesystemsEndpoint } from "./list-filesystems.ts";
import { listReceivedEndpoint } from "./list-received.ts";
import { listTreeEndpoint } from "./list-tree.ts";
import { listVersionsEndpoint } from "./list-versions.ts";
import { receiveEndpoint } from "./receive.ts";
import { resumeSendEndpoint } from "./resume-send.ts";
import { estimateSendEndpoint, sendEndpoint } from "./send.ts";
import { protectEndpoint } from "./protect.ts";
import { protectBasesEndpoint } from "./protect-bases.ts";
import { pruneEndpoint } from "./prune.ts";
import { pruneDatasetsEndpoint } from "./prune-datasets.ts";
import { snapshotEndpoint } from "./snapshot.ts";

/** Every endpoint stdinserver offers, bound to one session. */
export function serverEndpoints(ctx: ServerContext): EndpointRegistry {
  return new EndpointRegistry([
    infoEndpoint(ctx),
    listFilesystemsEndpoint(ctx),
    listVersionsEndpoint(ctx),
    listTreeEndpoint(ctx),
    estimateSendEndpoint(ctx),
    sendEndpoint(ctx),
    resumeSendEndpoint(ctx),
    listReceivedEndpoint(ctx),
    receiveEndpoint(ctx),
    snapshotEndpoint(ctx),
    protectEndpoint(ctx),
    protectBasesEndpoint(ctx),
    pruneEndpoint(ctx),
    pruneDatasetsEndpoint(ctx),
  ]);
}
