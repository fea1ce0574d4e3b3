// A hello-world server for wrk: `node bench/http/server.js PORT [SECONDS]` (twin of server.asy).
const http = require("http");

const port = parseInt(process.argv[2] || "8080", 10);
const seconds = parseFloat(process.argv[3] || "30");
const server = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
  res.end("Hello, World!");
});
server.listen(port, "127.0.0.1", () => console.log("listening"));
setTimeout(() => process.exit(0), seconds * 1000);
