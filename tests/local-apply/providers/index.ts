/** The resource types the harness implements; anything else is refused by name. */
import { NotImplementedError } from "../schema";
import type { ResourceHandler } from "../types";
import { localCommand, remoteCommand, remoteCopyRefusal } from "./command";
import { container } from "./docker-container";
import { remoteImage, volume } from "./docker-image-volume";
import { network } from "./docker-network";
import { providerHandlers } from "./pulumi-providers";
import { randomBytes, randomId, randomPassword, randomStringHandler } from "./random";
import { certRequest, locallySignedCert, privateKey, selfSignedCert } from "./tls";

const handlers = new Map<string, ResourceHandler>();
for (const h of [
  ...providerHandlers,
  remoteImage,
  volume,
  network,
  container,
  privateKey,
  selfSignedCert,
  locallySignedCert,
  certRequest,
  randomPassword,
  randomStringHandler,
  randomBytes,
  randomId,
  localCommand,
  remoteCommand,
]) {
  handlers.set(h.type, h);
}

const refusals: Record<string, string> = {
  "command:remote:CopyToRemote": `command:remote:CopyToRemote ${remoteCopyRefusal}`,
  "command:remote:CopyFile": `command:remote:CopyFile ${remoteCopyRefusal}`,
};

export function handlerFor(type: string): ResourceHandler {
  const h = handlers.get(type);
  if (h) return h;
  if (refusals[type]) throw new NotImplementedError(refusals[type]);
  throw new NotImplementedError(
    `resource type ${type} is not implemented by the local apply harness (implemented: ${[...handlers.keys()].sort().join(", ")})`,
  );
}

export function implementedTypes(): string[] {
  return [...handlers.keys()].sort();
}
