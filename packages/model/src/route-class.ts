// Route classes: what auth scopes and rate-limit rules are keyed on. The gateway's route table
// gives every route one; `health` is never guarded.
export const ROUTE_CLASSES = ["read", "write", "admin", "sync", "mesh", "health"] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];
