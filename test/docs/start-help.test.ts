import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const cli = (args: string[]) => promisify(execFile)(process.execPath, ['bin/syncline.mjs', ...args], { cwd: root });

/** The relative links of a Markdown file, without their #fragment. */
function relativeLinks(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string).filter((link) => !/^[a-z]+:/i.test(link) && !link.startsWith('#'));
}

describe('what a new user reads first', () => {
  it('says how to start on another port or data folder, in the README and the help', async () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain('npm start -- --port 8080 --data');
    const help = await cli(['--help']);
    expect(help.stdout).toMatch(/syncline start \[--port N\] \[--data DIR\]/);
    expect(help.stdout).toContain('npm start -- --port 8080 --data');
    const start = await cli(['start', '--help']);
    expect(start.stdout).toMatch(/--port N +port to listen on/);
    expect(start.stdout).toMatch(/--data DIR +data folder/);
  });

  it('links only to files inside the repository', () => {
    for (const file of ['README.md', 'docs/api.md', 'docs/flow-format.md']) {
      for (const link of relativeLinks(file)) {
        const target = resolve(root, dirname(file), link.split('#')[0] as string);
        expect({ file, link, inside: target.startsWith(`${root}/`), exists: existsSync(target) }).toEqual({ file, link, inside: true, exists: true });
      }
    }
  });
});
