#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx syncline` works from a checkout without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../runtime/cli.ts');
process.exitCode = await main(process.argv.slice(2));
