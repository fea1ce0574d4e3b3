// timers: 100,000 async functions sleeping 0-100 ms (same seeded generator as timers.asy).
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sleeper(ms) {
  await sleep(ms);
  return 1;
}

async function main() {
  let x = 12345;
  const tasks = [];
  for (let i = 0; i < 100000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    tasks.push(sleeper(x % 101));
  }
  const r = await Promise.all(tasks);
  console.log(r.reduce((a, b) => a + b, 0));
}

main();
