/** The software version, sent in the handshake and printed by `zferry --version`. */
export const VERSION = "0.1.0";
export const SOFTWARE = `zferry/${VERSION}`;
