// Wiring only: the edge-lite gateway (dist/edge-lite.wasm) — key-value data, topic logs, auth
// and rate limits; sync and mesh routes answer 501 (see wit/gateway/gateway.wit, gateway-lite).
import { coreServices } from "./core-services.ts";
import { decode, encode, encodeAll, encodePacked } from "keel:text/utf8@0.1.0";
import { useEncoder } from "./text.ts";
import * as base64 from "keel:text/base64@0.1.0";
import { useBase64 } from "@keel/bytes";
import { gatewayExports } from "./exports.ts";

useEncoder({ encode, encodeAll, encodePacked, decode });
useBase64(base64);

export const { incomingHandler, http } = gatewayExports(coreServices());
