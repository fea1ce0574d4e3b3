// switch: 1,000 async functions, each yielding 1,000 times (setImmediate).
const yieldOnce = () => new Promise((resolve) => setImmediate(resolve));

async function worker(n) {
  for (let i = 0; i < n; i++) await yieldOnce();
  return n;
}

async function main() {
  const tasks = [];
  for (let i = 0; i < 1000; i++) tasks.push(worker(1000));
  const done = await Promise.all(tasks);
  console.log(done.reduce((a, b) => a + b, 0));
}

main();
