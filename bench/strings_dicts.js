// Twin of strings_dicts.asy, with Map standing in for dict (both keep insertion order).
function main() {
  const table = new Map();
  for (let i = 0; i < 200000; i++) {
    table.set(`key${i}`, i);
  }
  let total = 0;
  for (let i = 0; i < 200000; i += 7) {
    total += table.get(`key${i}`);
  }
  console.log(table.size, total);

  const words = ["async", "await", "task", "loop", "event", "future", "queue", "lock"];
  const parts = [];
  for (let i = 0; i < 300000; i++) {
    parts.push(words[(i * i + Math.floor(i / 3)) % words.length]);
  }
  const text = parts.join(" ");

  const counts = new Map();
  for (const word of text.split(" ")) {
    counts.set(word, (counts.get(word) || 0) + 1);
  }
  let checksum = 0;
  for (const [word, n] of counts) {
    checksum = (checksum * 31 + n * word.length) % 1000003;
  }
  console.log(counts.size, counts.get("task"), checksum);
}

main();
