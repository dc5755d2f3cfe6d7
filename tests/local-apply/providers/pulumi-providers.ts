/**
 * Provider resources (pulumi:providers:<pkg>). Their only effect here is the Docker
 * provider's `host`: any host the Docker client understands can be planned (preview never
 * makes a client), but only a local unix socket can be driven.
 */
import { randomUUID } from "crypto";
import Docker from "dockerode";
import { isUnknown } from "../schema";
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

/** Schemes the Docker client accepts in a host URL. */
const DOCKER_HOST_SCHEMES = ["unix", "tcp", "ssh", "npipe", "http", "https"];

/** Refuses a `host` the Docker client itself could not parse (preview and up alike). */
export function checkDockerHost(host: unknown): void {
  if (host === undefined || host === "" || isUnknown(host)) return;
  const text = typeof host === "string" ? host : JSON.stringify(host);
  const m = /^([a-z]+):\/\/\S+$/.exec(text);
  if (!m || !DOCKER_HOST_SCHEMES.includes(m[1])) {
    throw new Error(`pulumi:providers:docker: unable to parse docker host '${text}' (expected ${DOCKER_HOST_SCHEMES.map((x) => `${x}://`).join(", ")})`);
  }
}

function providerHandler(
  pkg: string,
  schema: ResourceHandler["schema"],
  check?: (inputs: Props) => void,
  usable?: (inputs: Props) => void,
): ResourceHandler {
  return {
    type: `pulumi:providers:${pkg}`,
    schema,
    validate: check,
    create(_ctx, inputs) {
      check?.(inputs);
      usable?.(inputs);
      return Promise.resolve({ id: randomUUID(), outputs: { ...inputs } });
    },
    // Provider configuration changes: the docker host replaces (its resources follow);
    // the others have nothing that outlives the run.
    update(_ctx, _id, _olds, news) {
      return Promise.resolve({ ...news });
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
    (inputs) => checkDockerHost(inputs.host),
    // Only when it is really created: a preview may plan an SSH host, up cannot reach one.
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
