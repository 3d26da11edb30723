/**
 * Every error the product raises on purpose is a FutuError: a stable machine code, one
 * user-facing message (safe to show an LLM: never a secret), and optional structured details
 * (also safe, e.g. `retry_after_seconds`). Each area narrows `code` with its own subclass.
 */
export class FutuError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export function isFutuError(err: unknown): err is FutuError {
  return err instanceof FutuError;
}

/** A message for anything thrown, without leaking stack traces or internals of foreign errors. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
