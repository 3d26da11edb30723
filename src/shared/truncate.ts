/**
 * `text` cut to at most `max` characters plus an ellipsis. For text a client chose (a tool
 * name, an argument name in a validation message) that is echoed into errors and audit records:
 * unbounded, it would let one call write megabytes to the append-only log.
 */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
