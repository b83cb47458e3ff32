// tests/openapi/check.mjs - checks tern-service's OpenAPI document and docs pages with
// the tools users point at them.
//
//   node check.mjs validate SERVICE_BIN NODE_MODULES
//     GET /openapi.json, validated by @apidevtools/swagger-parser (OpenAPI 3.1 schema
//     plus its own checks); a broken copy must be refused, so the validator is known
//     to be looking.
//   node check.mjs browser SERVICE_BIN NODE_MODULES
//     tern serves Swagger UI and ReDoc from docs.assets_dir (no network here);
//     headless Chromium renders /docs and /redoc and every documented operation's
//     path and summary must be in the rendered DOM. Then the same check runs on a page
//     whose Swagger UI script is empty and must fail.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [mode, serviceBin, nodeModules] = process.argv.slice(2);
if (!['validate', 'browser'].includes(mode) || !serviceBin || !nodeModules) {
  console.error('usage: node check.mjs validate|browser SERVICE_BIN NODE_MODULES');
  process.exit(2);
}
const require = createRequire(path.join(nodeModules, 'index.js'));
let passed = 0;
let failed = 0;
const cleanups = [];

function check(ok, what, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${what}${detail ? `\n     ${detail}` : ''}`);
  }
  return ok;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tmpDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Starts tern-service on a free loopback port; resolves once /openapi.json answers.
async function startService(extraArgs) {
  const port = await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port), '--access_log', 'off', ...extraArgs];
  const child = spawn(serviceBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const kill = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM'); };
  cleanups.push(kill);
  // a clean shutdown exits 0; a sanitizer report (leak, UB) makes it fail
  const stop = async () => {
    kill();
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 15000))]);
    check(code === 0, `tern-service (${extraArgs.join(' ') || 'defaults'}) stops cleanly`, `exit ${code}\n${log}`);
  };
  const base = `http://127.0.0.1:${port}`;
  for (const started = Date.now(); Date.now() - started < 10000;) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(`${base}/openapi.json`);
      if (r.ok) return { base, stop, log: () => log };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`tern-service did not start (${args.join(' ')}):\n${log}`);
}

async function fetchDocument(base) {
  const r = await fetch(`${base}/openapi.json`);
  check(r.status === 200 && r.headers.get('content-type') === 'application/json',
    'GET /openapi.json is 200 application/json', `${r.status} ${r.headers.get('content-type')}`);
  return r.json();
}

function operations(doc) {
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) ops.push({ path: p, method, op });
  }
  return ops;
}

// ---- validate --------------------------------------------------------------------------

async function validate() {
  const SwaggerParser = require('@apidevtools/swagger-parser');
  const svc = await startService([]);
  const doc = await fetchDocument(svc.base);
  check(doc.openapi === '3.1.0', 'the document is OpenAPI 3.1.0', doc.openapi);
  try {
    await SwaggerParser.validate(structuredClone(doc));
    check(true, 'swagger-parser validates the document');
  } catch (e) {
    check(false, 'swagger-parser validates the document', e.message);
  }
  const ops = operations(doc);
  check(ops.length >= 10, `the service documents its operations (${ops.length})`);
  const ids = new Set(ops.map((o) => o.op.operationId));
  check(ids.size === ops.length, 'operationIds are unique');
  const item = doc.paths['/items/{item_id}']?.get;
  check(item?.operationId === 'read_item_items__item_id__get' &&
        item?.responses?.['422']?.content?.['application/json']?.schema?.$ref ===
          '#/components/schemas/HTTPValidationError',
  'GET /items/{item_id}: FastAPI operationId and 422 response', JSON.stringify(item));
  // the validator must refuse a broken document, else the check above proves nothing
  const broken = structuredClone(doc);
  broken.paths['/items/{item_id}'].get.parameters[0].in = 'body';
  try {
    await SwaggerParser.validate(broken);
    check(false, 'swagger-parser refuses a parameter "in": "body"');
  } catch {
    check(true, 'swagger-parser refuses a parameter "in": "body"');
  }
  await svc.stop();
}

// ---- browser ---------------------------------------------------------------------------

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

function renderedDom(url) {
  const profile = tmpDir('tern-chromium-');
  const r = spawnSync(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    `--user-data-dir=${profile}`, '--dump-dom', '--virtual-time-budget=15000', url,
  ], { encoding: 'utf8', timeout: 90000, maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) {
    throw new Error(`chromium failed on ${url}: ${r.error || r.status}\n${r.stderr}`);
  }
  return r.stdout;
}

const html = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// The operations of doc whose path or summary the page lacks.
function missing(dom, doc, page) {
  const lacking = [];
  for (const { path: p, method, op } of operations(doc)) {
    const pathShown = page === 'docs' ? dom.includes(`data-path="${p}"`) : dom.includes(html(p));
    if (!pathShown || !dom.includes(html(op.summary))) lacking.push(`${method.toUpperCase()} ${p} "${op.summary}"`);
  }
  return lacking;
}

function assetsDir(swaggerBundle) {
  const dir = tmpDir('tern-docs-assets-');
  const swagger = path.join(nodeModules, 'swagger-ui-dist');
  fs.copyFileSync(swaggerBundle ?? path.join(swagger, 'swagger-ui-bundle.js'), path.join(dir, 'swagger-ui-bundle.js'));
  fs.copyFileSync(path.join(swagger, 'swagger-ui.css'), path.join(dir, 'swagger-ui.css'));
  fs.copyFileSync(path.join(swagger, 'oauth2-redirect.html'), path.join(dir, 'oauth2-redirect.html'));
  fs.copyFileSync(path.join(nodeModules, 'redoc', 'bundles', 'redoc.standalone.js'), path.join(dir, 'redoc.standalone.js'));
  return dir;
}

async function browser() {
  if (!chromium) {
    console.log('SKIP: no chromium (scripts/deps.sh installs it)');
    process.exit(77);
  }
  const svc = await startService(['--docs.assets_dir', assetsDir()]);
  const doc = await fetchDocument(svc.base);
  const ops = operations(doc);
  check(ops.length >= 10, `the document has the service's operations (${ops.length})`);
  for (const page of ['docs', 'redoc']) {
    const dom = renderedDom(`${svc.base}/${page}`);
    const lacking = missing(dom, doc, page);
    check(lacking.length === 0, `/${page} renders all ${ops.length} operations (path and summary)`,
      `missing: ${lacking.join(', ')}`);
  }
  await svc.stop();

  // The same check on a page that cannot render must fail.
  const empty = path.join(tmpDir('tern-empty-'), 'empty.js');
  fs.writeFileSync(empty, '');
  const dead = await startService(['--docs.assets_dir', assetsDir(empty)]);
  const lacking = missing(renderedDom(`${dead.base}/docs`), doc, 'docs');
  check(lacking.length === ops.length, 'a /docs without Swagger UI fails the same check',
    `only ${lacking.length} of ${ops.length} missing`);
  await dead.stop();
}

try {
  await (mode === 'validate' ? validate() : browser());
} catch (e) {
  check(false, 'the check ran', e.stack);
} finally {
  for (const f of cleanups.reverse()) {
    try { f(); } catch { /* best effort */ }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
