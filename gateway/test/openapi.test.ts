// The OpenAPI document is valid OpenAPI 3.1 in shape and lists exactly the routes the app serves.
import { expect } from 'chai';
import { OPERATIONS, PROBLEM_REGISTRY, createApp, openApiDocument } from '../src';
import { Harness } from '../src/testing';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

describe('OpenAPI document', function () {
  let h: Harness;
  before(async () => {
    h = await Harness.create();
  });
  after(async () => {
    await h.dispose();
  });

  it('is served at /openapi.json without a client certificate', async () => {
    const res = await h.call(null, 'GET', '/openapi.json');
    expect(res.status).to.equal(200);
    const doc = res.json<{
      openapi: string;
      paths: Record<string, Record<string, { operationId: string; responses: object }>>;
    }>();
    expect(doc.openapi).to.match(/^3\.1\./);
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      expect(path).to.match(/^\//);
      for (const [method, op] of Object.entries(ops)) {
        expect(['get', 'post', 'delete']).to.include(method);
        expect(op.operationId).to.match(/^[A-Za-z0-9]+$/);
        expect(ids.has(op.operationId), `duplicate operationId ${op.operationId}`).to.equal(false);
        ids.add(op.operationId);
        expect(op.responses).to.have.property('default');
      }
    }
    const problem = (
      openApiDocument()['components'] as {
        schemas: { Problem: { properties: { code: { enum: string[] } } } };
      }
    ).schemas.Problem;
    expect(problem.properties.code.enum).to.have.members(Object.keys(PROBLEM_REGISTRY));
  });

  it('matches the routes of the application', () => {
    const app = createApp({
      ledger: h.gateway.ledger,
      blobs: h.gateway.blobs,
      coordinator: h.gateway.coordinator,
      directory: {
        identify: () => {
          throw new Error('unused');
        },
      } as never,
      verifier: {} as never,
      metrics: { contentType: 'text/plain' } as never,
      isReady: () => true,
    });
    const router = (app as unknown as { router: { stack: Layer[] } }).router;
    const served = router.stack
      .filter((l) => l.route)
      .flatMap((l) =>
        Object.keys(l.route!.methods).map(
          (m) => `${m} ${l.route!.path.replace(/:(\w+)/g, '{$1}')}`,
        ),
      )
      .sort();
    const documented = OPERATIONS.map((o) => `${o.method} ${o.path}`).sort();
    expect(served).to.deep.equal(documented);
  });
});
