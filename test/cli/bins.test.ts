import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUTUCLI } from '../helpers/futucli.js';
import { TOOLS } from '../../src/mcp/tools/index.js';

const CLI_DIR = dirname(FUTUCLI);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function run(bin: string, args: string[]) {
  return spawnSync(process.execPath, [join(CLI_DIR, `${bin}.js`), ...args], { encoding: 'utf8' });
}

test('every bin answers --version with the package version', () => {
  for (const bin of ['futu-mcp', 'futucli', 'futu-sim']) {
    const result = run(bin, ['--version']);
    assert.equal(result.status, 0, `${bin}: ${result.stderr}`);
    assert.equal(result.stdout, `${VERSION}\n`, bin);
  }
});

test("the README's list of futu-mcp flags is exactly what futu-mcp --help shows", () => {
  const help = run('futu-mcp', ['--help']);
  assert.equal(help.status, 0);
  const shown = new Set(help.stdout.match(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)!.map((line) => line.replace(/^.*(--[a-z-]+)$/, '$1')));
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const paragraph = /`futu-mcp --help` lists every flag: ([^]*?)\.(?:\s|$)/.exec(readme)?.[1];
  assert.ok(paragraph, 'the README has the flag list');
  const listed = new Set(paragraph.match(/`(--[a-z-]+)/g)!.map((flag) => flag.slice(1)));
  assert.deepEqual([...listed].sort(), [...shown].sort());
  assert.ok(shown.has('--sim-seed'));
  // The description counts the tools the server declares, as the README does.
  const count = /^MCP server for Futu OpenD: (\d+) tools /m.exec(help.stdout)?.[1];
  assert.equal(Number(count), TOOLS.length, help.stdout.slice(0, 300));
  assert.match(readme, new RegExp(`\\*\\*${TOOLS.length} Futu tools\\*\\*`));
});
