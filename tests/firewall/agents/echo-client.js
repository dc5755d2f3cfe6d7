// Holds one TCP connection open: prints "connected", then sends each stdin line and prints the echo.
// Usage (inside a namespace): ip netns exec NS node echo-client.js HOST PORT
"use strict";
const net = require("net");
const readline = require("readline");
const [host, port] = process.argv.slice(2);
const socket = net.connect({ host, port: Number(port) }, () => process.stdout.write("connected\n"));
socket.on("error", (err) => { process.stdout.write(`error ${err.code || err.message}\n`); process.exit(1); });
socket.on("close", () => process.exit(0));
socket.setEncoding("utf8");
socket.on("data", (data) => process.stdout.write(`echo ${data}`));
readline.createInterface({ input: process.stdin }).on("line", (line) => socket.write(`${line}\n`));
