// Byte helpers every component may use; none needs an engine global.
export { encodeUtf8, encodeUtf8Many, decodeUtf8, toHex, HEX_DIGITS, fromHex, useUtf8Encoder, useUtf8Decoder, paddedLine } from "./utf8.ts";
export { toBase64, toBase64All, useBase64, fromBase64, isBase64 } from "./base64.ts";
export { crc32, useCrc32 } from "./crc32.ts";
export { packInto, packRecords, packedSize } from "./packed.ts";
