// Loaded with `node --import` into the Syncline processes the postgres bench starts (bench/postgresSyncline.ts): at
// exit, writes the process's own resourceUsage() (CPU of every thread, peak RSS) to SYNCLINE_BENCH_RUSAGE. Node
// cannot read a child's rusage, and /proc loses a process's figures the moment it exits.
import { writeFileSync } from 'node:fs';

const file = process.env.SYNCLINE_BENCH_RUSAGE;
if (file) process.on('exit', () => writeFileSync(file, JSON.stringify(process.resourceUsage())));
