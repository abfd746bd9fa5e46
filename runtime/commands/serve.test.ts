import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from './serve';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('serve --state FILE', () => {
  it('makes the data folder, never a folder for a state file elsewhere: it says the folder does not exist', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'syncline-serve-state-'));
    folders.push(folder);
    const state = join(folder, 'nonexistent', 'dir', 'st.db');
    const options = { port: 0, host: '127.0.0.1', dataDir: join(folder, 'data'), metricsPublic: false, corsOrigins: [], state };
    await expect(startServer(options)).rejects.toThrow(
      `the state ${state}: its folder ${join(folder, 'nonexistent', 'dir')} does not exist; create the folder first, or pick another --state`,
    );
    expect([existsSync(join(folder, 'nonexistent')), existsSync(join(folder, 'data'))]).toEqual([false, false]);
  });
});
