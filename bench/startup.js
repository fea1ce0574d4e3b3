// Twin of startup.asy.
console.log("hi");
