// What a failed call to kes says to an operator (status page, console): kes's own status and message when kes
// answered, else why it could not be reached.
import { KesError } from '@kesgate/kes-client';

export function kesErrorText(err: unknown): string {
  if (err instanceof KesError) return `kes answered ${err.status}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
