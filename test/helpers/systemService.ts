import { test, type TestContext } from 'node:test';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * A system service a test needs for real (a Secret Service daemon, a redis-server): the test starts
 * it itself from these binaries. `install` is what the reader should run to get them.
 */
export interface SystemService {
  readonly name: string;
  readonly binaries: readonly string[];
  readonly install: string;
}

/** gnome-keyring as the Secret Service, in a private D-Bus session (test/cli/tradePassword-keychain.test.ts). */
export const GNOME_KEYRING: SystemService = {
  name: 'gnome-keyring',
  binaries: ['gnome-keyring-daemon', 'dbus-run-session', 'secret-tool'],
  install: 'apt-get install gnome-keyring dbus dbus-user-session libsecret-tools',
};

/** jq, for the README's audit queries run as a user would run them. */
export const JQ: SystemService = { name: 'jq', binaries: ['jq'], install: 'apt-get install jq' };

/** redis-server, for the shared-state tests (each starts its own, test/helpers/service.ts). */
export const REDIS: SystemService = { name: 'redis-server', binaries: ['redis-server'], install: 'apt-get install redis-server' };

/** The binaries of `service` that no PATH entry holds as an executable file. */
export function missingBinaries(service: SystemService, path = process.env.PATH ?? ''): string[] {
  const dirs = path.split(delimiter).filter(Boolean);
  return service.binaries.filter(
    (bin) =>
      !dirs.some((dir) => {
        try {
          accessSync(join(dir, bin), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
}

/**
 * `test(name, fn)` when the service's binaries are installed. When they are not, a fresh machine
 * (only Node installed) reports the test as skipped with the reason in its name, so `npm test`
 * passes and the summary says what was not run; under CI=true it fails instead, because `.ci/run`
 * installs every service and a missing one there means a test silently stopped running.
 * `register` is `it` inside a `describe`.
 */
export function serviceTest(
  name: string,
  service: SystemService,
  fn: (t: TestContext) => void | Promise<void>,
  register: typeof test = test,
): void {
  const reason = notInstalled(service);
  if (reason === undefined) {
    register(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    register(`${name} [needs ${reason}]`, () => {
      throw new Error(`CI=true requires ${reason}`);
    });
    return;
  }
  register(`${name} [skipped: ${reason}]`, { skip: reason }, fn);
}

/** What a `describe` whose tests share one instance of a service is called, and whether it skips. */
export interface ServiceGate {
  readonly name: string;
  readonly skip: string | false;
}

/**
 * serviceTest's rule for a whole `describe`: with the binaries missing, skipped with the reason in
 * its name, except under CI=true, where it runs and its tests fail when the service cannot start.
 */
export function serviceGate(name: string, service: SystemService): ServiceGate {
  const reason = notInstalled(service);
  if (reason === undefined) return { name, skip: false };
  if (process.env.CI === 'true') return { name: `${name} [needs ${reason}]`, skip: false };
  return { name: `${name} [skipped: ${reason}]`, skip: reason };
}

/** Why the service cannot run here, or undefined when its binaries are installed. */
function notInstalled(service: SystemService): string | undefined {
  const missing = missingBinaries(service);
  return missing.length === 0 ? undefined : `${service.name} not installed: ${missing.join(', ')} not on PATH (${service.install})`;
}
