/**
 * Typed calls to a stdinserver: one method per endpoint, responses validated with the api/ schemas.
 */
import {
  ENDPOINTS,
  estimateResponse,
  infoResponse,
  listFilesystemsResponse,
  listVersionsResponse,
  receiveResponse,
  type FilesystemEntry,
  type InfoResponse,
  type ReceiveArgs,
  type SendArgs,
  type VersionEntry,
  type WireSendFlag,
} from "../api/index.ts";
import { treeCollector, type RemoteTree } from "./remote-tree.ts";
import { RpcClient, type BodySink, type OctetProducer, type ProgressProbe, type ReceivedBody } from "../rpc/index.ts";
import type { DatasetName, WireCompression } from "../zfs/index.ts";

export class RemoteSession {
  readonly rpc: RpcClient;

  constructor(rpc: RpcClient) {
    this.rpc = rpc;
  }

  info(): Promise<InfoResponse> {
    return this.rpc.callValue(ENDPOINTS.info, undefined, infoResponse);
  }

  async listFilesystems(): Promise<FilesystemEntry[]> {
    return (await this.rpc.callValue(ENDPOINTS.listFilesystems, undefined, listFilesystemsResponse)).filesystems;
  }

  async listVersions(dataset: DatasetName, options: { received?: boolean } = {}): Promise<VersionEntry[]> {
    const args = options.received ? { dataset, received: true } : { dataset };
    return (await this.rpc.callValue(ENDPOINTS.listVersions, args, listVersionsResponse)).versions;
  }

  /**
   * The whole tree this identity may pull (or, with `received`, what it pushed) in one call.
   * @throws RpcError when refused; StreamError when the server's listing failed; ProtocolError for a malformed listing
   */
  /**
   * The server's tree (see list_tree): with `versions: false` its datasets alone, with `datasets`
   * only those, each with its versions; `columns` where the server's info has `tree_columns`.
   */
  async listTree(options: { received?: boolean; versions?: boolean; datasets?: readonly string[]; columns?: boolean } = {}): Promise<RemoteTree> {
    const collector = treeCollector("list_tree response");
    const args = {
      ...(options.received ? { received: true } : {}),
      ...(options.columns ? { columns: true } : {}),
      ...(options.versions === false ? { versions: false } : {}),
      ...(options.datasets ? { datasets: [...options.datasets] } : {}),
    };
    const received = await this.rpc.callOctets(ENDPOINTS.listTree, args, collector.sink);
    if (received.sinkError !== null) throw new Error(`list_tree: ${received.sinkError}`);
    return collector.done();
  }

  async estimateSend(args: SendArgs): Promise<bigint | null> {
    return (await this.rpc.callValue(ENDPOINTS.estimateSend, args, estimateResponse)).bytes ?? null;
  }

  /** Streams `zfs send` output into `sink`. @throws StreamError when the server's send failed */
  send(args: SendArgs, sink: BodySink, options: { signal?: AbortSignal; probe?: ProgressProbe; requestId?: string } = {}): Promise<ReceivedBody> {
    return this.rpc.callOctets(ENDPOINTS.send, args, sink, options);
  }

  resumeSend(
    token: string,
    flags: readonly WireSendFlag[],
    sink: BodySink,
    options: { signal?: AbortSignal; probe?: ProgressProbe; requestId?: string; compression?: WireCompression; bandwidthLimit?: number } = {},
  ): Promise<ReceivedBody> {
    const { compression, bandwidthLimit, ...call } = options;
    const args = { token, ...(flags.length ? { flags } : {}), ...(compression ? { compression } : {}), ...(bandwidthLimit ? { bandwidth_limit: bandwidthLimit } : {}) };
    return this.rpc.callOctets(ENDPOINTS.resumeSend, args, sink, call);
  }

  async listReceived(): Promise<FilesystemEntry[]> {
    return (await this.rpc.callValue(ENDPOINTS.listReceived, undefined, listFilesystemsResponse)).filesystems;
  }

  /** Pushes one stream; resolves with where it landed. @throws RpcError with the server's reason */
  receive(args: ReceiveArgs, producer: OctetProducer, probe?: ProgressProbe, requestId?: string): Promise<ReturnType<typeof receiveResponse>> {
    return this.rpc.callValue(ENDPOINTS.receive, args, receiveResponse, { body: { kind: "octets", producer, probe }, ...(requestId ? { requestId } : {}) });
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}
