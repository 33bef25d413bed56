// Text and base64 helpers the router needs, without relying on engine globals.

export function encodeText(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function decodeText(b: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(b);
}

export { toBase64, fromBase64 } from "@keel/bytes";
