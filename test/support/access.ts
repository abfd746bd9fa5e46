import { folderAccess, type ConnectorAccess } from '../../runtime/connectors/access';

/**
 * Connector access for a test, as an operator would grant it: files in `dir` (none without one) and these loopback or
 * private hosts, e.g. `['127.0.0.1']` for json-server and stub APIs. The product default allows no such host.
 */
export function testAccess(options: { dir?: string; hosts?: string[] } = {}): ConnectorAccess {
  const access = options.dir === undefined ? { files: { allowedDirs: [], runtimeFiles: [] }, hosts: { allowed: [] } } : folderAccess(options.dir);
  return { ...access, hosts: { allowed: options.hosts ?? [] } };
}

/** json-server and the stub APIs listen on 127.0.0.1. */
export const loopbackAccess = testAccess({ hosts: ['127.0.0.1'] });
