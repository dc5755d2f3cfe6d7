/**
 * Keeps secret values out of everything the harness prints: every string found in a
 * secret input, secret output or secret config value is replaced by "[secret]".
 */
const secrets = new Set<string>();

export function addSecret(value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value === "string") {
    if (value.length >= 4) {
      secrets.add(value);
      // Multi-line secrets (PEM): also hide each longer line on its own.
      for (const line of value.split("\n")) {
        const l = line.trim();
        if (l.length >= 16 && !/^-----(BEGIN|END) /.test(l)) secrets.add(l);
      }
    }
    return;
  }
  if (typeof value === "number" || typeof value === "boolean") return;
  if (Array.isArray(value)) value.forEach(addSecret);
  else if (typeof value === "object") Object.values(value as Record<string, unknown>).forEach(addSecret);
}

export function redact(text: string): string {
  let out = text;
  // Longest first, so a secret that contains another is hidden whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join("[secret]");
  }
  return out;
}

export function say(msg: string): void {
  process.stdout.write(redact(msg) + "\n");
}

export function warn(msg: string): void {
  process.stderr.write(redact(msg) + "\n");
}
