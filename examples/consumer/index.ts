// A company's own stack: two registries from the private-registry package, each with its own port,
// container, volume and users, beside a resource of the stack's own.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PrivateRegistry } from "private-registry";

const config = new pulumi.Config();
const hostname = config.get("hostname") ?? "localhost";

const builds = new PrivateRegistry("builds", {
    hostnames: [hostname],
    ipAddresses: ["127.0.0.1"],
    port: config.getNumber("buildsPort") ?? 5101,
    users: ["ci-builder", "ci-reader"],
    containerName: "builds-registry",
    dataVolumeName: "builds-registry-data",
    // Build output can be rebuilt; the release images below cannot.
    protectData: false,
    certValidityDays: 90,
    certEarlyRenewalDays: 14,
});

const releases = new PrivateRegistry("releases", {
    hostnames: [hostname],
    ipAddresses: ["127.0.0.1"],
    port: config.getNumber("releasesPort") ?? 5102,
    users: ["release-manager", "deployer"],
    containerName: "releases-registry",
    dataVolumeName: "releases-registry-data",
    protectData: pulumi.getStack().startsWith("prod"),
});

// The stack's own resource: a cache volume its build agents mount.
const buildCache = new docker.Volume("build-cache", {
    name: "consumer-build-cache",
    labels: [{ label: "team", value: "platform" }],
});

export const buildsEndpoint = builds.endpoint;
export const releasesEndpoint = releases.endpoint;
export const caCertPems = { builds: builds.caCertPem, releases: releases.caCertPem };
export const buildsCredentials = builds.credentials;
export const releasesCredentials = releases.credentials;
export const dataVolumes = [builds.dataVolume, releases.dataVolume];
export const buildCacheVolume = buildCache.name;
