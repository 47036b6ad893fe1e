/** The `zfs send` flags a job may ask for and a client may be granted. */

export type SendFlagName = "raw" | "compressed" | "large_blocks" | "embedded" | "properties";

/** Every send flag, in the order `zfs send` documents them. */
export const SEND_FLAG_NAMES: readonly SendFlagName[] = Object.freeze(["raw", "compressed", "large_blocks", "embedded", "properties"]);

/** Which send flags a job asks for; every flag present, false unless set. */
export type SendOptions = { readonly [K in SendFlagName]: boolean };

/** The flags set in `options`, in SEND_FLAG_NAMES order. */
export function enabledSendFlags(options: SendOptions): SendFlagName[] {
  return SEND_FLAG_NAMES.filter((flag) => options[flag]);
}
