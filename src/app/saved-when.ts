/** When something kept in the browser was saved, as a user reads a time (`Date.now()` → "7 Dec 2026, 19:21"). */
export function savedWhen(at: number): string {
  return new Date(at).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}
