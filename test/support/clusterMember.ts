/**
 * A cluster member in a process of its own, for tests that kill one (runtime/cluster/cluster.test.ts):
 *
 *   node --import tsx test/support/clusterMember.ts URL SCHEMA
 *
 * It joins the cluster of the state in SCHEMA, takes pass jobs one at a time, prints `running FLOW KIND` for each
 * and never finishes it: the test kills it mid-pass. It prints `joined ID` once it is a member.
 */
import pg from 'pg';
import pino from 'pino';
import { Cluster } from '../../runtime/cluster/cluster';

const [url, schema] = process.argv.slice(2);
if (!url || !schema) throw new Error('usage: clusterMember.ts URL SCHEMA');
const pool = new pg.Pool({ connectionString: url, options: `-c TimeZone=UTC -c search_path=${schema}`, max: 4 });
const cluster = await Cluster.join({ pool, role: 'worker', name: `member-${process.pid}`, logger: pino({ level: 'silent' }), concurrency: 1 });
await cluster.work(async (job) => {
  process.stdout.write(`running ${job.flowId} ${job.kind}\n`);
  await new Promise(() => undefined);
});
process.stdout.write(`joined ${cluster.id}\n`);
