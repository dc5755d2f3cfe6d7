// Tries one TCP connection to each target at once and prints a JSON object target -> {result, ms},
// result being connected, refused, timeout or error. One process per namespace keeps probing cheap.
// Usage (inside a namespace): ip netns exec NS node probe.js TIMEOUT_MS HOST:PORT... (IPv6 in brackets)
"use strict";
const net = require("net");
const [timeoutMs, ...targets] = process.argv.slice(2);

function probe(target) {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
    const started = Date.now();
    return new Promise((resolve) => {
        const socket = net.connect({ host: m[1], port: Number(m[2]) });
        const done = (result, detail) => {
            socket.destroy();
            resolve([target, { result, detail, ms: Date.now() - started }]);
        };
        socket.setTimeout(Number(timeoutMs), () => done("timeout"));
        socket.on("connect", () => done("connected"));
        socket.on("error", (err) => done(err.code === "ECONNREFUSED" ? "refused" : "error", err.code || err.message));
    });
}

Promise.all(targets.map(probe)).then((results) => {
    process.stdout.write(JSON.stringify(Object.fromEntries(results)) + "\n");
    process.exit(0);
});
