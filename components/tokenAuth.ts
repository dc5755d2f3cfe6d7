/**
 * Token authentication: who may do what (users and groups → repository patterns → actions), the
 * token service's settings and access file, and the registry's auth.token section. Pure: the
 * components only wire what these render.
 */
import * as YAML from "yaml";
import { configDeclarations } from "./configDeclarations";

/** One access rule: everyone it names gets its actions on the repositories its patterns match. */
export interface RegistryAccessRuleArgs {
    /** Users the rule grants to; "anonymous" stands for requests without credentials, and so for everyone. Default: []. */
    readonly users?: string[];
    /** Groups the rule grants to (defined under RegistryAccessRulesArgs.groups). Default: []. */
    readonly groups?: string[];
    /** Repository patterns: `*` matches within one path segment, a `**` segment across segments ("team-a/**", "tools/*", "**"); only a-z 0-9 . _ - and *. Default: []. */
    readonly repositories?: string[];
    /** Actions on those repositories: "pull", "push", "delete", or "*" for all three; required with repositories. Default: []. */
    readonly actions?: string[];
    /** Also grant registry:catalog:* (listing every repository's name). Default: false. */
    readonly catalog?: boolean;
}

/** The access rules of token authentication; whatever no rule grants is denied. */
export interface RegistryAccessRulesArgs {
    /** Groups of users, by name; every member must be one of the registry's users. Default: {}. */
    readonly groups?: { [group: string]: string[] };
    /** Group whose members may list the catalog (registry:catalog:*). Default: none, only rules with catalog: true grant it. */
    readonly adminGroup?: string;
    /** The rules; a user gets the union of the rules naming them or their groups, plus the anonymous ones. Required. */
    readonly rules: RegistryAccessRuleArgs[];
}

/** Token authentication instead of htpasswd: a token service checks passwords once per login and issues short-lived signed tokens the registry verifies. */
export interface RegistryTokenAuthArgs {
    /** Who may pull, push and delete where, and list the catalog. Required. */
    readonly accessRules: RegistryAccessRulesArgs;
    /** Host port the token service is published on (HTTPS), on the registry's bindAddress. Default: 5002. */
    readonly hostPort?: number;
    /** Lifetime of the tokens, in seconds (60-86400); a removed user keeps a token at most this long. Default: 300. */
    readonly tokenLifetimeSeconds?: number;
    /** Base image the token service is built on (its Dockerfile's NODE_IMAGE), pinned by digest. Default: "node:22-alpine@sha256:8094c002d08262dba12645a3b4a15cd6cd627d30bc782f53229a2ec13ee22a00". */
    readonly nodeImage?: string;
}

/** Defaults of RegistryTokenAuthArgs, the stack keys' defaults in Pulumi.yaml. */
export const tokenAuthDefaults = {
    /** The token service's host port. */
    hostPort: configDeclarations.tokenPort.default as number,
    /** Token lifetime, seconds. */
    tokenLifetimeSeconds: configDeclarations.tokenLifetimeSeconds.default as number,
    /** The Dockerfile's base image. */
    nodeImage: configDeclarations.tokenServiceNodeImage.default as string,
} as const;

/** The pseudo-user of requests without credentials. */
export const anonymousUser = "anonymous";
/** Actions a rule may grant. */
export const accessRuleActions = ["pull", "push", "delete", "*"] as const;
/** Tokens shorter-lived than this could expire within one push. */
export const minTokenLifetimeSeconds = 60;
/** The token service's upper bound. */
export const maxTokenLifetimeSeconds = 86400;
/** distribution accepts a token this long past its exp (and before its nbf), for clock skew (registry/auth/token's Leeway). */
export const registryTokenLeewaySeconds = 60;
/** The token issuer the registry trusts. */
export const tokenIssuer = "private-registry-token-service";
/** Port the token service listens on inside its container. */
export const tokenServiceContainerPort = 5001;

const segmentPattern = /^[a-z0-9._*-]+$/;
const ruleKeys = ["users", "groups", "repositories", "actions", "catalog"];
const rulesKeys = ["groups", "adminGroup", "rules"];

/** Why a repository pattern is malformed (the token service's syntax), or undefined. */
export function repositoryPatternProblem(pattern: string): string | undefined {
    for (const segment of pattern.split("/")) {
        if (segment === "") return "it has an empty path segment (a leading, trailing or double slash)";
        if (segment === "**") continue;
        if (segment.includes("**")) return `"**" must be a whole path segment, not part of "${segment}"`;
        if (!segmentPattern.test(segment)) return `segment "${segment}" may hold only a-z, 0-9, '.', '_', '-' and '*'`;
    }
    return undefined;
}

function isStringList(value: unknown): value is string[] {
    return Array.isArray(value) && value.every((item) => typeof item === "string" && item !== "");
}

/** The settings token authentication is checked against. */
export interface TokenAuthContext {
    /** The registry's users (they have passwords). */
    readonly users: readonly string[];
    /** Ports the token port must not take: the registry's, SSH's, the metrics port. */
    readonly takenPorts: { readonly [what: string]: number };
}

/**
 * Why token authentication cannot be used as given, each naming its key and the fix. `field`
 * names a field (PrivateRegistryArgs.tokenAuth.… or a stack key); the access rules come as the
 * user wrote them, so their shape is checked too.
 */
export function tokenAuthProblems(tokenAuth: RegistryTokenAuthArgs, context: TokenAuthContext, field: (f: string) => string): string[] {
    const problems: string[] = [];
    const where = field("accessRules");
    const users = new Set(context.users);
    if (users.has(anonymousUser)) {
        problems.push(`${field("users")}: "${anonymousUser}" is reserved for requests without credentials in the access rules. Fix: name the user otherwise`);
    }
    const access = tokenAuth.accessRules as unknown;
    if (typeof access !== "object" || access === null || Array.isArray(access)) {
        problems.push(`${where}: is missing; token authentication denies everything no rule grants. Fix: give rules, e.g. {rules: [{groups: [team], repositories: ["team/**"], actions: [pull, push]}]}`);
        return [...problems, ...tokenSettingsProblems(tokenAuth, context, field)];
    }
    const accessObject = access as Record<string, unknown>;
    for (const key of Object.keys(accessObject).filter((k) => !rulesKeys.includes(k))) {
        problems.push(`${where}.${key}: unknown key. Fix: use ${rulesKeys.join(", ")}`);
    }
    const groups = new Set<string>();
    const rawGroups = accessObject.groups ?? {};
    if (typeof rawGroups !== "object" || rawGroups === null || Array.isArray(rawGroups)) {
        problems.push(`${where}.groups: expected a mapping of group name to a list of users. Fix: e.g. {team-a: [alice, bob]}`);
    } else {
        for (const [group, members] of Object.entries(rawGroups)) {
            groups.add(group);
            if (!isStringList(members)) {
                problems.push(`${where}.groups.${group}: expected a list of user names`);
                continue;
            }
            members.forEach((member, i) => {
                if (!users.has(member)) {
                    problems.push(`${where}.groups.${group}[${i}]: unknown user "${member}". Fix: add it to ${field("users")}, or remove it from the group`);
                }
            });
        }
    }
    const adminGroup = accessObject.adminGroup;
    if (adminGroup !== undefined && (typeof adminGroup !== "string" || !groups.has(adminGroup))) {
        problems.push(`${where}.adminGroup: ${JSON.stringify(adminGroup)} is not a group. Fix: name one of ${[...groups].join(", ") || "the groups (none defined)"}`);
    }
    const rules = accessObject.rules;
    if (!Array.isArray(rules) || rules.length === 0) {
        problems.push(`${where}.rules: no rules, so nobody could pull or push. Fix: give at least one rule`);
    } else {
        rules.forEach((rule, i) => problems.push(...accessRuleProblems(rule, `${where}.rules[${i}]`, users, groups, field)));
    }
    return [...problems, ...tokenSettingsProblems(tokenAuth, context, field)];
}

function accessRuleProblems(rule: unknown, where: string, users: Set<string>, groups: Set<string>, field: (f: string) => string): string[] {
    if (typeof rule !== "object" || rule === null || Array.isArray(rule)) return [`${where}: expected a mapping with users or groups, repositories and actions`];
    const r = rule as Record<string, unknown>;
    const problems = Object.keys(r).filter((k) => !ruleKeys.includes(k)).map((k) => `${where}.${k}: unknown key. Fix: use ${ruleKeys.join(", ")}`);
    const list = (key: string): string[] => {
        const value = r[key] ?? [];
        if (isStringList(value)) return value;
        problems.push(`${where}.${key}: expected a list of non-empty strings`);
        return [];
    };
    const ruleUsers = list("users");
    const ruleGroups = list("groups");
    const repositories = list("repositories");
    const actions = list("actions");
    ruleUsers.forEach((user, i) => {
        if (user !== anonymousUser && !users.has(user)) {
            problems.push(`${where}.users[${i}]: unknown user "${user}". Fix: add it to ${field("users")}, or use "${anonymousUser}" for everyone`);
        }
    });
    ruleGroups.forEach((group, i) => {
        if (!groups.has(group)) problems.push(`${where}.groups[${i}]: unknown group "${group}". Fix: define it under groups`);
    });
    if (ruleUsers.length === 0 && ruleGroups.length === 0) problems.push(`${where}: names no users or groups. Fix: add users: [...] or groups: [...]`);
    repositories.forEach((pattern, i) => {
        const problem = repositoryPatternProblem(pattern);
        if (problem) problems.push(`${where}.repositories[${i}]: malformed pattern "${pattern}": ${problem}. Fix: e.g. "team-a/**" or "tools/*"`);
    });
    actions.forEach((action, i) => {
        if (!(accessRuleActions as readonly string[]).includes(action)) {
            problems.push(`${where}.actions[${i}]: unknown action "${action}". Fix: use ${accessRuleActions.join(", ")}`);
        }
    });
    if (repositories.length > 0 && actions.length === 0) problems.push(`${where}.actions: missing. Fix: e.g. [pull] or [pull, push]`);
    if (actions.length > 0 && repositories.length === 0) problems.push(`${where}.repositories: missing. Fix: e.g. ["team-a/**"]`);
    if (r.catalog !== undefined && typeof r.catalog !== "boolean") problems.push(`${where}.catalog: expected true or false`);
    if (repositories.length === 0 && r.catalog !== true) problems.push(`${where}: grants nothing. Fix: add repositories and actions, or catalog: true`);
    return problems;
}

function tokenSettingsProblems(tokenAuth: RegistryTokenAuthArgs, context: TokenAuthContext, field: (f: string) => string): string[] {
    const problems: string[] = [];
    const port = tokenAuth.hostPort ?? tokenAuthDefaults.hostPort;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        problems.push(`${field("tokenPort")}: ${port} is outside 1-65535. Fix: use ${tokenAuthDefaults.hostPort}`);
    }
    for (const [what, taken] of Object.entries(context.takenPorts)) {
        if (port === taken) problems.push(`${field("tokenPort")}: ${port} is also the ${what}. Fix: use another port, e.g. ${tokenAuthDefaults.hostPort === taken ? port + 1 : tokenAuthDefaults.hostPort}`);
    }
    const lifetime = tokenAuth.tokenLifetimeSeconds ?? tokenAuthDefaults.tokenLifetimeSeconds;
    if (!Number.isInteger(lifetime) || lifetime < minTokenLifetimeSeconds || lifetime > maxTokenLifetimeSeconds) {
        problems.push(`${field("tokenLifetimeSeconds")}: ${lifetime} is outside ${minTokenLifetimeSeconds}-${maxTokenLifetimeSeconds}; shorter tokens could expire within one push. Fix: use ${tokenAuthDefaults.tokenLifetimeSeconds}`);
    }
    const nodeImage = tokenAuth.nodeImage ?? tokenAuthDefaults.nodeImage;
    if (!/@sha256:[0-9a-f]{64}$/.test(nodeImage)) {
        problems.push(`${field("tokenServiceNodeImage")}: "${nodeImage}" is not pinned by digest. Fix: use a reference such as node:22-alpine@sha256:<64 hex digits>`);
    }
    return problems;
}

/** The token service's access file: the registry's users, then the groups and rules as given. */
export function renderTokenAccessFile(accessRules: RegistryAccessRulesArgs, users: readonly string[]): string {
    const doc = {
        users: [...users],
        groups: accessRules.groups ?? {},
        ...(accessRules.adminGroup !== undefined ? { adminGroup: accessRules.adminGroup } : {}),
        rules: accessRules.rules,
    };
    return `# Written by private-registry's RegistryTokenService; replaced on every change.\n${YAML.stringify(doc)}`;
}

/** Files of the token service's config directory (relative to its settings file). */
export const tokenServiceFiles = {
    /** The service's settings. */
    settings: "settings.yaml",
    /** The users' bcrypt hashes. */
    htpasswd: "htpasswd",
    /** Users, groups and rules. */
    access: "access.yaml",
    /** HTTPS certificate. */
    tlsCert: "server.crt",
    /** HTTPS key. */
    tlsKey: "server.key",
    /** The key tokens are signed with. */
    signingKey: "signing.key",
    /** Its certificate. */
    signingCert: "signing.crt",
} as const;

/** What {@link renderTokenServiceSettings} needs to know. */
export interface TokenServiceSettingsOptions {
    /** The registry's auth.token.service: tokens are issued for it only. */
    readonly service: string;
    /** Token lifetime, seconds. */
    readonly tokenLifetimeSeconds: number;
    /** Tokens for a Notary server too: its service name, and the registry's GUN prefixes ("host:port/"). Default: none. */
    readonly notary?: TokenServiceNotarySettings;
}

/** The Notary part of the token service's settings. */
export interface TokenServiceNotarySettings {
    /** Notary's service name in tokens. */
    readonly service: string;
    /** The registry's GUN prefixes, each "host:port/". */
    readonly gunPrefixes: readonly string[];
}

/** The token service's settings.yaml; the files beside it are {@link tokenServiceFiles}. */
export function renderTokenServiceSettings(options: TokenServiceSettingsOptions): string {
    const { settings: _settings, htpasswd, access, ...keys } = tokenServiceFiles;
    return YAML.stringify({
        host: "0.0.0.0",
        port: tokenServiceContainerPort,
        ...keys,
        htpasswdFile: htpasswd,
        accessFile: access,
        // kid: the registry finds the key among its rootcertbundle's certificates without checking a chain on every request.
        keyHeader: "kid",
        issuer: tokenIssuer,
        services: [options.service],
        realmPath: "/token",
        tokenLifetimeSeconds: options.tokenLifetimeSeconds,
        ...(options.notary ? { notary: { service: options.notary.service, gunPrefixes: [...options.notary.gunPrefixes] } } : {}),
    });
}

/** The URL clients fetch tokens from. */
export function tokenRealm(hostname: string, port: number): string {
    return `https://${hostname}:${port}/token`;
}

/** What the registry needs to know of the token service. */
export interface ResolvedTokenAuth {
    /** The realm clients are sent to. */
    readonly realm: string;
    /** The registry's name in tokens (their audience). */
    readonly service: string;
}

/** The registry's auth section for token authentication; `rootCertBundle` is the signing certificate's path in the container. */
export function registryTokenAuthSection(tokenAuth: ResolvedTokenAuth, rootCertBundle: string): Record<string, unknown> {
    return { token: { realm: tokenAuth.realm, service: tokenAuth.service, issuer: tokenIssuer, rootcertbundle: rootCertBundle } };
}

/** The field of PrivateRegistryArgs a stack key of token authentication stands for. */
export function tokenAuthArgsField(stackKey: string): string {
    const fields: Record<string, string> = {
        accessRules: "tokenAuth.accessRules", tokenPort: "tokenAuth.hostPort", tokenLifetimeSeconds: "tokenAuth.tokenLifetimeSeconds", tokenServiceNodeImage: "tokenAuth.nodeImage",
    };
    return fields[stackKey] ?? stackKey;
}

/** The registry settings the token service's port and users are checked against. */
export interface TokenAuthRegistrySettings {
    /** The registry's users. */
    readonly users: readonly string[];
    /** The registry port. */
    readonly port: number;
    /** The SSH port the firewall leaves open. */
    readonly sshPort: number;
    /** Where metrics are published; empty for nowhere. */
    readonly metricsBindAddress: string;
    /** The metrics port. */
    readonly metricsPort: number;
}

/** {@link tokenAuthProblems} for a registry's settings; none without token authentication. */
export function registryTokenAuthProblems(tokenAuth: RegistryTokenAuthArgs | undefined, s: TokenAuthRegistrySettings, field: (stackKey: string) => string): string[] {
    if (tokenAuth === undefined) return [];
    return tokenAuthProblems(tokenAuth, {
        users: s.users,
        takenPorts: { "registry port": s.port, "SSH port": s.sshPort, ...(s.metricsBindAddress !== "" ? { "metrics port": s.metricsPort } : {}) },
    }, field);
}
