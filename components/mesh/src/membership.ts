// Mesh membership. This build has no peers configured: the list is empty and changes
// answer that the mesh is not configured.

export interface Peer {
  id: string;
  address: string;
  state: "alive" | "suspect" | "dead";
  lastSeenMs: number;
}

export const notConfigured = () => ({ tag: "other", val: "mesh is not configured on this node" });

export function peers(): Peer[] {
  return [];
}
