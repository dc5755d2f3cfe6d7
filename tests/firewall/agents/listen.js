// TCP and UDP echo listeners on the given addresses; prints "ready" once all are bound.
// Usage: node listen.js tcp:HOST:PORT ... udp:HOST:PORT ...   (IPv6 hosts in brackets)
"use strict";
const net = require("net");
const dgram = require("dgram");
const specs = process.argv.slice(2).map((arg) => {
    const m = /^(tcp|udp):\[?([^\]]+?)\]?:(\d+)$/.exec(arg);
    if (!m) throw new Error(`bad listener spec ${arg}`);
    return { proto: m[1], host: m[2], port: Number(m[3]) };
});
let pending = specs.length;
const bound = () => { if (--pending === 0) process.stdout.write("ready\n"); };
for (const { proto, host, port } of specs) {
    if (proto === "tcp") {
        const server = net.createServer((socket) => {
            socket.on("error", () => {});
            socket.pipe(socket);
        });
        server.on("error", (err) => { process.stderr.write(`tcp ${host}:${port}: ${err.message}\n`); process.exit(1); });
        server.listen({ host, port }, bound);
    } else {
        const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
        socket.on("message", (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
        socket.on("error", (err) => { process.stderr.write(`udp ${host}:${port}: ${err.message}\n`); process.exit(1); });
        socket.bind(port, host, bound);
    }
}
