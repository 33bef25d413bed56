// Wiring only: the edge-lite gateway (dist/edge-lite.wasm) — key-value data, topic logs, auth
// and rate limits; sync and mesh routes answer 501 (see wit/gateway/gateway.wit, gateway-lite).
import { coreServices } from "./core-services.ts";
import { gatewayExports } from "./exports.ts";

export const { incomingHandler, http } = gatewayExports(coreServices());
