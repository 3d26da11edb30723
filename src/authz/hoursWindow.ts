import { AuthzError } from './errors.js';

/**
 * A key's "HH:MM-HH:MM" hours window, read in the server's local time zone. It covers
 * [start, end) at minute resolution and may cross midnight ("22:00-04:00" is 22:00 to 03:59).
 */
export interface HoursWindow {
  readonly startMinute: number;
  readonly endMinute: number;
}

const WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

export function parseHoursWindow(text: string): HoursWindow {
  const m = WINDOW.exec(text.trim());
  if (!m) throw new AuthzError('INVALID_VALUE', `invalid value: hours window "${text.slice(0, 20)}" must be HH:MM-HH:MM`);
  const startMinute = Number(m[1]) * 60 + Number(m[2]);
  const endMinute = Number(m[3]) * 60 + Number(m[4]);
  if (startMinute === endMinute) {
    throw new AuthzError('INVALID_VALUE', `invalid value: hours window "${text}" is empty (start equals end)`);
  }
  return { startMinute, endMinute };
}

export function isWithinHoursWindow(window: HoursWindow, now: Date): boolean {
  const minute = now.getHours() * 60 + now.getMinutes();
  return window.startMinute < window.endMinute
    ? minute >= window.startMinute && minute < window.endMinute
    : minute >= window.startMinute || minute < window.endMinute;
}

/** The next minute (server local time) at which `window` opens or closes, after `now`. */
export function nextHoursChange(window: HoursWindow, now: Date): Date {
  const open = isWithinHoursWindow(window, now);
  const next = new Date(now.getTime());
  next.setSeconds(0, 0);
  for (let minutes = 1; minutes <= 24 * 60; minutes++) {
    next.setTime(next.getTime() + 60_000);
    if (isWithinHoursWindow(window, next) !== open) return next;
  }
  return next;
}
