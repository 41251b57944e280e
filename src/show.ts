/** How a user's value is shown in an error: quoted, escaped, never endless. */
export function showValue(value: string): string {
  const shown = JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
  return value.length > 120 ? `${shown} (${value.length} characters)` : shown;
}
