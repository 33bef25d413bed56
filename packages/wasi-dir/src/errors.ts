// A filesystem failure, in the shape of the `io` case of the keel WIT error variants
// (`keel:storage/types.error`), so a component can throw it straight across its boundary.

export interface IoError {
  tag: "io";
  val: string;
}

export function ioError(message: string): IoError {
  return { tag: "io", val: message };
}
