/** Types of bin/runtimeBundle.mjs, plain JavaScript so the launcher can load it before any TypeScript. */
export declare const bundleDir: string;
export declare function buildRuntime(outdir?: string): Promise<{ outdir: string; sources: number }>;
export declare function bundleProblem(dir?: string): string | null;
