// memory: 100,000 async functions all waiting on one promise (the peak memory is the point).
async function waiter(event) {
  await event;
  return 1;
}

async function main() {
  let set;
  const event = new Promise((resolve) => { set = resolve; });
  const tasks = [];
  for (let i = 0; i < 100000; i++) tasks.push(waiter(event));
  await new Promise((resolve) => setImmediate(resolve));
  set();
  const r = await Promise.all(tasks);
  console.log(r.reduce((a, b) => a + b, 0));
}

main();
