// Baseline for bench/run.sh (bench 2): the straightforward way to put DuckDB behind HTTP in Node.
//
// Usage: node server.mjs DBFILE PORT POOL THREADS
//
// Opens DBFILE read-only with @duckdb/node-api (threads=THREADS), keeps POOL connections, each with
// the lookup query prepared once, and serves on 127.0.0.1:PORT:
//   GET /lookup?tenant=..&product=..  -> 200 {"data":[{event_id, day, region, units, revenue}, ...]}
//   GET /health                       -> 200 ok
// Missing parameters -> 400, other paths -> 404, query errors -> 500. Prints "listening 127.0.0.1:PORT"
// on stdout once it accepts connections.
import http from 'node:http';
import { DuckDBInstance } from '@duckdb/node-api';

const SQL =
  'SELECT event_id, day, region, units, revenue FROM events ' +
  'WHERE tenant_id = $1 AND product = $2 ORDER BY day LIMIT 100';

const [dbFile, portArg, poolArg, threadsArg] = process.argv.slice(2);
const port = Number(portArg);
const poolSize = Number(poolArg ?? 4);
const threads = Number(threadsArg ?? 2);
if (!dbFile || !Number.isInteger(port) || !(poolSize >= 1) || !(threads >= 1)) {
  console.error('usage: node server.mjs DBFILE PORT POOL THREADS');
  process.exit(2);
}

const instance = await DuckDBInstance.create(dbFile, {
  access_mode: 'READ_ONLY',
  threads: String(threads),
});

// Pool of {connection, statement}; requests wait in FIFO order when all are busy.
const idle = [];
for (let i = 0; i < poolSize; i++) {
  const connection = await instance.connect();
  const statement = await connection.prepare(SQL);
  idle.push({ connection, statement });
}
const waiters = [];
function acquire() {
  const slot = idle.pop();
  if (slot) return Promise.resolve(slot);
  return new Promise((resolve) => waiters.push(resolve));
}
function release(slot) {
  const next = waiters.shift();
  if (next) next(slot);
  else idle.push(slot);
}

async function lookup(tenant, product) {
  const slot = await acquire();
  try {
    slot.statement.bindVarchar(1, tenant);
    slot.statement.bindVarchar(2, product);
    const reader = await slot.statement.runAndReadAll();
    return reader.getRowObjectsJson();
  } finally {
    release(slot);
  }
}

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method !== 'GET') return send(res, 405, '{"error":"method not allowed"}');
  if (url.pathname === '/health') return send(res, 200, 'ok\n', 'text/plain');
  if (url.pathname !== '/lookup') return send(res, 404, '{"error":"not found"}');
  const tenant = url.searchParams.get('tenant');
  const product = url.searchParams.get('product');
  if (tenant === null || product === null) {
    return send(res, 400, '{"error":"tenant and product are required"}');
  }
  lookup(tenant, product).then(
    (rows) => send(res, 200, JSON.stringify({ data: rows })),
    (err) => send(res, 500, JSON.stringify({ error: String(err?.message ?? err) })),
  );
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.on('error', (err) => {
  console.error(`server error: ${err.message}`);
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
server.listen(port, '127.0.0.1', () => {
  console.log(`listening 127.0.0.1:${server.address().port}`);
});
