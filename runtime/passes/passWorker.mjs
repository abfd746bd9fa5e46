// A worker thread does not inherit the tsx hooks the main program registered (bin/syncline.mjs, or vitest's own
// transform), so it registers them itself before it loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./passWorker.ts');
