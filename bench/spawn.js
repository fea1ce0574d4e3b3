// spawn: 100,000 async functions that each yield once (setImmediate) and return, gathered.
const yieldOnce = () => new Promise((resolve) => setImmediate(resolve));

async function child(i) {
  await yieldOnce();
  return i;
}

async function main() {
  const tasks = [];
  for (let i = 0; i < 100000; i++) tasks.push(child(i));
  const results = await Promise.all(tasks);
  console.log(results.length, results.reduce((a, b) => a + b, 0));
}

main();
