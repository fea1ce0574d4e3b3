// 2,000 GETs of a small file, 100 at a time, with node's http.get and a keep-alive agent:
// `node bench/http/client.js URL [N] [CONCURRENCY]` (the twin of client.asy).
const http = require("http");

const url = process.argv[2] || "http://127.0.0.1:8080/";
const n = parseInt(process.argv[3] || "2000", 10);
const conc = parseInt(process.argv[4] || "100", 10);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });

let todo = n;
let bytes = 0;
let done = 0;
const t0 = process.hrtime.bigint();
const c0 = process.cpuUsage();

function get() {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let size = 0;
      res.on("data", (chunk) => { size += chunk.length; });
      res.on("end", () => resolve(size));
    }).on("error", reject);
  });
}

async function worker() {
  while (todo > 0) {
    todo--;
    const size = await get();
    bytes += size;
    done++;
  }
}

Promise.all(Array.from({ length: conc }, worker)).then(() => {
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  console.log(`${done} requests, ${bytes} bytes in ${dt.toFixed(3)} s: ${Math.round(done / dt)} req/s; ` +
              `CPU ${((cpu.user + cpu.system) / done).toFixed(1)} us/request`);
  agent.destroy();
});
