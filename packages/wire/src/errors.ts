// The wire's error, in its own module so index.ts and seal.ts can both use it without an import cycle.

/** A document or item that is not what the wire format allows (the receiver answers 400). */
export class WireError extends Error {}
