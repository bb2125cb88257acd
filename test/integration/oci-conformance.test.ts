// The OCI Distribution Spec conformance checks (test/helpers/oci-conformance-suite.ts) against an
// in-process embedded registry. test/e2e/fleet.test.ts runs the same suite against three replicas.
import { ociConformanceSuite } from '../helpers/oci-conformance-suite.js';
import { startTestRegistry } from '../helpers/registry.js';

ociConformanceSuite(async () => {
  const reg = await startTestRegistry({ registry: { deleteEnabled: true } });
  return { url: reg.url, authorization: reg.basic, close: () => reg.close() };
});
