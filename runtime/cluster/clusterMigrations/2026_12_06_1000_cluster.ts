import { sql, type Kysely } from 'kysely';

// Never edit a migration once landed: add a new dated file instead.

/**
 * The tables the processes of one runtime share on PostgreSQL (runtime/cluster/cluster.ts). The job queue itself is
 * pg-boss's, in a schema of its own; these hold only what pg-boss does not: which processes are in the cluster, which
 * pass job each is running, and when each flow's next scheduled poll is due.
 *
 * Times are the database's (`now()`), never a process's clock: the processes may run on machines whose clocks differ.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('cluster_processes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    // The second key of the advisory lock the process holds for as long as its connection lives: its proof of life.
    .addColumn('lock_key', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('cluster_passes')
    .addColumn('job_id', 'uuid', (c) => c.primaryKey())
    .addColumn('flow_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('process_id', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('cluster_passes_by_process').on('cluster_passes').column('process_id').execute();

  await db.schema
    .createTable('cluster_ticks')
    .addColumn('flow_id', 'text', (c) => c.primaryKey())
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('cluster_ticks').execute();
  await db.schema.dropTable('cluster_passes').execute();
  await db.schema.dropTable('cluster_processes').execute();
}
