// Who may call a route class. This build admits every request as `anonymous` with every
// scope; JWT verification (HS/RS/PS/ES/EdDSA, JWKS, scopes per route) replaces this body.

export type RouteClass = "read" | "write" | "admin" | "sync" | "mesh" | "health";

export interface Principal {
  subject: string;
  scopes: string[];
  node: string | null;
}

export const ALL_SCOPES = ["read", "write", "admin", "sync", "mesh"];

export function authorize(_routeClass: string, _authorization: string | null | undefined, _nowMs: number): Principal {
  return { subject: "anonymous", scopes: ALL_SCOPES.slice(), node: null };
}
