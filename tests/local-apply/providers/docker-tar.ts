/**
 * The one-file tar archive the docker provider uploads for a container `upload` block:
 * one regular-file entry whose header Name is the file path as given, Mode from
 * `permissions` (octal) else 0744 if executable else 0644, Uid/Gid from owner/group.
 */
import * as fs from "fs";

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

export function singleFileTar(name: string, content: Buffer, mode: number, uid = 0, gid = 0, mtime = new Date()): Buffer {
  const header = Buffer.alloc(512, 0);
  let base = name;
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    // ustar: split at a slash into prefix (<=155) and name (<=100).
    const i = name.lastIndexOf("/", 155);
    if (i <= 0 || Buffer.byteLength(name.substring(i + 1)) > 100) throw new Error(`upload file path too long for tar: ${name}`);
    prefix = name.substring(0, i);
    base = name.substring(i + 1);
  }
  header.write(base, 0, 100, "utf8");
  header.write(octal(mode & 0o7777, 8), 100, 8, "ascii");
  header.write(octal(uid, 8), 108, 8, "ascii");
  header.write(octal(gid, 8), 116, 8, "ascii");
  header.write(octal(content.length, 12), 124, 12, "ascii");
  header.write(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 12, "ascii");
  header.write("        ", 148, 8, "ascii");
  header.write("0", 156, 1, "ascii");
  header.write("ustar\0", 257, 6, "ascii");
  header.write("00", 263, 2, "ascii");
  header.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  const pad = (512 - (content.length % 512)) % 512;
  return Buffer.concat([header, content, Buffer.alloc(pad, 0), Buffer.alloc(1024, 0)]);
}

/** owner/group as the provider reads them: a numeric id, or a name from this host's database. */
export function resolveId(value: string | undefined, db: "/etc/passwd" | "/etc/group"): number {
  if (value === undefined || value === "") return 0;
  if (/^\d+$/.test(value)) return Number(value);
  const lines = fs.existsSync(db) ? fs.readFileSync(db, "utf8").split("\n") : [];
  for (const line of lines) {
    const f = line.split(":");
    if (f[0] === value) return Number(f[2]);
  }
  throw new Error(`upload: unknown ${db === "/etc/passwd" ? "user" : "group"} '${value}' on this host`);
}
