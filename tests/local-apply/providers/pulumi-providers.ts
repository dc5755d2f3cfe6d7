/**
 * Provider resources (pulumi:providers:<pkg>). Their only effect here is the Docker
 * provider's `host`, which must be a local unix socket.
 */
import { randomUUID } from "crypto";
import Docker from "dockerode";
import type { Props, ResourceHandler } from "../types";

export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/** Turns a docker provider `host` into a client; only unix sockets are supported here. */
export function dockerClientFor(host: string | undefined): Docker {
  const h = host && host.length > 0 ? host : process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  if (h.startsWith("ssh://")) {
    throw new Error(
      `pulumi:providers:docker: host '${h}' is an SSH host; the local apply harness only drives the local ` +
        `Docker engine through a unix socket (use a stack whose dockerHost is unix:///var/run/docker.sock)`,
    );
  }
  if (!h.startsWith("unix://")) {
    throw new Error(`pulumi:providers:docker: host '${h}' is not supported by the local apply harness (unix:// sockets only)`);
  }
  return new Docker({ socketPath: h.substring("unix://".length) });
}

function providerHandler(pkg: string, schema: ResourceHandler["schema"], check?: (inputs: Props) => void): ResourceHandler {
  return {
    type: `pulumi:providers:${pkg}`,
    schema,
    validate: check,
    async create(_ctx, inputs) {
      check?.(inputs);
      return { id: randomUUID(), outputs: { ...inputs } };
    },
    // Provider configuration changes: the docker host replaces (its resources follow);
    // the others have nothing that outlives the run.
    async update(_ctx, _id, _olds, news) {
      return { ...news };
    },
    async delete() {},
  };
}

export const providerHandlers: ResourceHandler[] = [
  providerHandler(
    "docker",
    {
      host: { forceNew: true },
      disableDockerDaemonCheck: {},
      version: {},
    },
    (inputs) => {
      dockerClientFor(inputs.host as string | undefined);
    },
  ),
  providerHandler("command", { version: {} }),
  providerHandler("tls", { version: {}, proxy: {} }, (inputs) => {
    if (inputs.proxy !== undefined) throw new Error("pulumi:providers:tls: 'proxy' is not implemented by the local apply harness");
  }),
  providerHandler("random", { version: {} }),
];
