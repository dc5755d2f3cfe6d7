/**
 * random:index/randomPassword, randomString, randomBytes, randomId, following
 * terraform-provider-random: every input forces a replacement; passwords get a real bcrypt
 * hash (cost 10, "$2a$" like Go's bcrypt).
 */
import * as crypto from "crypto";
import bcrypt from "bcryptjs";
import type { Props, ResourceHandler } from "../types";
import type { Schema } from "../schema";

const F = { forceNew: true } as const;

const stringSchema: Schema = {
  length: F,
  special: { forceNew: true, default: true },
  upper: { forceNew: true, default: true },
  lower: { forceNew: true, default: true },
  number: { forceNew: true },
  numeric: { forceNew: true },
  minNumeric: { forceNew: true, default: 0 },
  minUpper: { forceNew: true, default: 0 },
  minLower: { forceNew: true, default: 0 },
  minSpecial: { forceNew: true, default: 0 },
  overrideSpecial: F,
  keepers: { forceNew: true, map: true },
};

function pick(chars: string, n: number): string {
  if (n <= 0) return "";
  if (chars.length === 0) throw new Error("the character set is empty (all of upper, lower, numeric and special are false)");
  let out = "";
  for (let i = 0; i < n; i++) out += chars[crypto.randomInt(chars.length)];
  return out;
}

export function randomString(inputs: Props): string {
  const length = Number(inputs.length);
  const num = (k: string) => Number((inputs[k] as number | undefined) ?? 0);
  const flag = (k: string) => inputs[k] !== false;
  const numericOn = inputs.numeric !== undefined ? inputs.numeric !== false : inputs.number !== false;
  if (!Number.isInteger(length) || length < 1) throw new Error(`length must be at least 1, got ${String(inputs.length)}`);
  const mins = num("minNumeric") + num("minUpper") + num("minLower") + num("minSpecial");
  if (length < mins) throw new Error(`length (${length}) must be >= minUpper + minLower + minNumeric + minSpecial (${mins})`);
  const numChars = "0123456789";
  const lowerChars = "abcdefghijklmnopqrstuvwxyz";
  const upperChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const specialChars = (inputs.overrideSpecial as string | undefined) || "!@#$%&*()-_=+[]{}<>:?";
  let chars = "";
  if (flag("upper")) chars += upperChars;
  if (flag("lower")) chars += lowerChars;
  if (numericOn) chars += numChars;
  if (flag("special")) chars += specialChars;
  let result =
    pick(numChars, num("minNumeric")) +
    pick(lowerChars, num("minLower")) +
    pick(upperChars, num("minUpper")) +
    pick(specialChars, num("minSpecial"));
  result += pick(chars, length - result.length);
  // Shuffle (the provider sorts by random bytes).
  const arr = [...result];
  for (let i = arr.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr.join("");
}

function withDefaults(inputs: Props): Props {
  const numeric = inputs.numeric ?? inputs.number ?? true;
  return { special: true, upper: true, lower: true, minNumeric: 0, minUpper: 0, minLower: 0, minSpecial: 0, ...inputs, numeric, number: numeric };
}

export const randomPassword: ResourceHandler = {
  type: "random:index/randomPassword:RandomPassword",
  schema: stringSchema,
  create(_ctx, inputs) {
    const result = randomString(inputs);
    const salt = bcrypt.genSaltSync(10).replace(/^\$2b\$/, "$2a$");
    return Promise.resolve({
      id: "none",
      outputs: { ...withDefaults(inputs), result, bcryptHash: bcrypt.hashSync(result, salt) },
      secretOutputs: ["result", "bcryptHash"],
    });
  },
  async delete() {},
};

export const randomStringHandler: ResourceHandler = {
  type: "random:index/randomString:RandomString",
  schema: stringSchema,
  create(_ctx, inputs) {
    const result = randomString(inputs);
    return Promise.resolve({ id: result, outputs: { ...withDefaults(inputs), result } });
  },
  async delete() {},
};

export const randomBytes: ResourceHandler = {
  type: "random:index/randomBytes:RandomBytes",
  schema: { length: F, keepers: { forceNew: true, map: true } },
  create(_ctx, inputs) {
    const n = Number(inputs.length);
    if (!Number.isInteger(n) || n < 1) throw new Error(`length must be at least 1, got ${String(inputs.length)}`);
    const b = crypto.randomBytes(n);
    return Promise.resolve({
      id: b.toString("base64"),
      outputs: { ...inputs, base64: b.toString("base64"), hex: b.toString("hex") },
      secretOutputs: ["base64", "hex"],
    });
  },
  async delete() {},
};

export const randomId: ResourceHandler = {
  type: "random:index/randomId:RandomId",
  schema: { byteLength: F, prefix: F, keepers: { forceNew: true, map: true } },
  create(_ctx, inputs) {
    const n = Number(inputs.byteLength);
    if (!Number.isInteger(n) || n < 1) throw new Error(`byteLength must be at least 1, got ${String(inputs.byteLength)}`);
    const b = crypto.randomBytes(n);
    const prefix = (inputs.prefix as string | undefined) ?? "";
    const b64Url = b.toString("base64url");
    return Promise.resolve({
      id: b64Url,
      outputs: {
        ...inputs,
        b64Url: prefix + b64Url,
        b64Std: prefix + b.toString("base64"),
        hex: prefix + b.toString("hex"),
        dec: prefix + BigInt(`0x${b.toString("hex")}`).toString(10),
      },
    });
  },
  async delete() {},
};
