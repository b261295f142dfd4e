// The roadmap's Node.js line, measured: Node's own http module, no framework, one process (one
// thread of JavaScript), serving the lab's routes with the stages' bytes (servers/core/app.py).
//   node industry/node/server.js --port N        (prints "listening on http://127.0.0.1:N")
"use strict";
const http = require("http");

const PLAINTEXT = Buffer.from("Hello, World!");
const HEALTH = Buffer.from("ok\n");
const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";
const MAX_DELAY_MS = 1000; // servers/core/limits.py's

function send(res, status, type, body) {
  res.writeHead(status, { "Server": "node", "Content-Type": type, "Content-Length": body.length });
  res.end(body);
}

function handle(req, res) {
  const path = req.url;
  if (path === "/plaintext") return send(res, 200, TEXT, PLAINTEXT);
  // Serialized per request, as TechEmpower's json test requires (and as the stages do).
  if (path === "/json") return send(res, 200, JSON_TYPE, Buffer.from(JSON.stringify({ message: "Hello, World!" })));
  if (path === "/health") return send(res, 200, TEXT, HEALTH);
  const delay = /^\/delay\/(\d+)$/.exec(path);
  if (delay) {
    const ms = Number(delay[1]);
    if (delay[1].length > 9 || ms > MAX_DELAY_MS) {
      return send(res, 400, TEXT, Buffer.from(`/delay/{ms} waits at most ${MAX_DELAY_MS}\n`));
    }
    setTimeout(() => send(res, 200, TEXT, PLAINTEXT), ms);
    return;
  }
  send(res, 404, TEXT, Buffer.from("not found\n"));
}

function main() {
  const at = process.argv.indexOf("--port");
  const port = at > 0 ? Number(process.argv[at + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be 0..65535, got ${process.argv[at + 1]}`);
    process.exit(2);
  }
  // Keep-alive as the stages' (5 s); no request timeout beyond Node's defaults.
  const server = http.createServer({ keepAliveTimeout: 5000 }, handle);
  server.on("error", (error) => {
    console.error(`cannot listen: ${error.message}`);
    process.exit(2);
  });
  server.listen(port, "127.0.0.1", () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}`);
  });
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.on(signal, () => server.close(() => process.exit(0)) && server.closeAllConnections());
  }
}

main();
