// queue: 200,000 items through a bounded (size 1) async queue to 4 consumers. Node has no
// asyncio.Queue, so this is the same FIFO-of-waiters design written out.
class Queue {
  constructor(maxsize) {
    this.maxsize = maxsize;
    this.items = [];
    this.getters = [];
    this.putters = [];
  }
  async put(item) {
    while (this.items.length >= this.maxsize) {
      await new Promise((resolve) => this.putters.push(resolve));
    }
    this.items.push(item);
    const g = this.getters.shift();
    if (g) g();
  }
  async get() {
    while (this.items.length === 0) {
      await new Promise((resolve) => this.getters.push(resolve));
    }
    const item = this.items.shift();
    const p = this.putters.shift();
    if (p) p();
    return item;
  }
}

const N = 200000;
const CONSUMERS = 4;

async function producer(q) {
  for (let i = 0; i < N; i++) await q.put(i);
  for (let i = 0; i < CONSUMERS; i++) await q.put(null);
}

async function consumer(q) {
  let total = 0;
  for (;;) {
    const item = await q.get();
    if (item === null) return total;
    total += item;
  }
}

async function main() {
  const q = new Queue(1);
  const consumers = [];
  for (let i = 0; i < CONSUMERS; i++) consumers.push(consumer(q));
  await producer(q);
  const totals = await Promise.all(consumers);
  console.log(totals.reduce((a, b) => a + b, 0));
}

main();
