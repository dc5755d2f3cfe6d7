/**
 * The two configuration files: the service's settings (read at start) and the access file (users,
 * groups, rules; reloaded on change). Both are YAML, and so JSON too. Every problem is reported at
 * once, each naming its field and the fix.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { AccessPolicy, ALL_ACTIONS, ANONYMOUS, compilePattern, normaliseActions, PatternError, REPOSITORY_ACTIONS, Rule } from "./rules";
import { GUN_PREFIX, NotarySettings } from "./notary";
import { KEY_HEADERS, KeyHeader } from "./token";

export class ConfigError extends Error {
    constructor(
        readonly source: string,
        readonly problems: string[],
    ) {
        super(`${source} is invalid:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    }
}

export interface Settings {
    host: string;
    port: number;
    tlsCert: string;
    tlsKey: string;
    signingKey: string;
    signingCert: string;
    keyHeader: KeyHeader;
    issuer: string;
    /** `service` values tokens are issued for (the registry's auth.token.service). */
    services: string[];
    realmPath: string;
    tokenLifetimeSeconds: number;
    htpasswdFile: string;
    accessFile: string;
    /** Tokens for a Notary server too, under the same rules; absent: registry tokens only. */
    notary?: NotarySettings;
}

type Doc = Record<string, unknown>;

function isObject(value: unknown): value is Doc {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseDocument(text: string, source: string): Doc {
    let doc: unknown;
    try {
        doc = parse(text);
    } catch (error) {
        throw new ConfigError(source, [`not valid YAML or JSON: ${(error as Error).message}`]);
    }
    if (!isObject(doc)) throw new ConfigError(source, ["expected a mapping (key: value) at the top level"]);
    return doc;
}

function unknownKeys(doc: Doc, known: readonly string[], where: string): string[] {
    return Object.keys(doc)
        .filter((key) => !known.includes(key))
        .map((key) => `${where}${key}: unknown key; known keys are ${known.join(", ")}`);
}

/** A list of non-empty strings, or undefined after recording a problem. */
function stringList(value: unknown, field: string, problems: string[]): string[] | undefined {
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string" && item !== "")) {
        problems.push(`${field}: expected a list of non-empty strings`);
        return undefined;
    }
    return value as string[];
}

const SETTINGS_KEYS = [
    "host", "port", "tlsCert", "tlsKey", "signingKey", "signingCert", "keyHeader", "issuer", "services",
    "realmPath", "tokenLifetimeSeconds", "htpasswdFile", "accessFile", "notary",
] as const;
const NOTARY_KEYS = ["service", "gunPrefixes"] as const;
const PATH_KEYS = ["tlsCert", "tlsKey", "signingKey", "signingCert", "htpasswdFile", "accessFile"] as const;

/** Parses the settings; relative file paths are taken from `baseDir` (the settings file's folder). */
export function parseSettings(text: string, baseDir: string, source = "settings"): Settings {
    const doc = parseDocument(text, source);
    const problems = unknownKeys(doc, SETTINGS_KEYS, "");
    const stringSetting = (key: string, fallback?: string): string => {
        const value = doc[key] ?? fallback;
        if (typeof value === "string" && value !== "") return value;
        problems.push(`${key}: ${value === undefined ? "required" : "expected a non-empty string"}`);
        return "";
    };
    const integerSetting = (key: string, fallback: number, min: number, max: number): number => {
        const value = doc[key] ?? fallback;
        if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
        problems.push(`${key}: expected a whole number from ${min} to ${max}`);
        return fallback;
    };
    const paths = Object.fromEntries(PATH_KEYS.map((key) => [key, resolve(baseDir, stringSetting(key))])) as Record<
        (typeof PATH_KEYS)[number],
        string
    >;
    const keyHeader = doc.keyHeader ?? "kid";
    if (!KEY_HEADERS.includes(keyHeader as KeyHeader)) {
        problems.push(`keyHeader: expected one of ${KEY_HEADERS.join(", ")}`);
    }
    const realmPath = stringSetting("realmPath", "/token");
    if (!realmPath.startsWith("/")) problems.push(`realmPath: must start with "/", e.g. /token`);
    const services = doc.services === undefined ? undefined : stringList(doc.services, "services", problems);
    if (doc.services === undefined) problems.push("services: required: the registry's auth.token.service value(s)");
    else if (services?.length === 0) problems.push("services: name at least one service");
    const notary = doc.notary === undefined ? undefined : parseNotarySettings(doc.notary, services ?? [], problems);
    const settings: Settings = {
        host: stringSetting("host", "0.0.0.0"),
        port: integerSetting("port", 5001, 1, 65535),
        ...paths,
        keyHeader: keyHeader as KeyHeader,
        issuer: stringSetting("issuer"),
        services: services ?? [],
        realmPath,
        tokenLifetimeSeconds: integerSetting("tokenLifetimeSeconds", 300, 1, 86400),
        ...(notary ? { notary } : {}),
    };
    if (problems.length > 0) throw new ConfigError(source, problems);
    return settings;
}

function parseNotarySettings(raw: unknown, services: readonly string[], problems: string[]): NotarySettings | undefined {
    if (!isObject(raw)) {
        problems.push(`notary: expected a mapping with service and gunPrefixes, e.g. {service: notary.example.com, gunPrefixes: ["reg.example.com:5000/"]}`);
        return undefined;
    }
    const before = problems.length;
    problems.push(...unknownKeys(raw, NOTARY_KEYS, "notary."));
    const service = raw.service;
    if (typeof service !== "string" || service === "") {
        problems.push("notary.service: required: Notary's auth.options.service value");
    } else if (services.includes(service)) {
        // One audience for both would let a registry token through at Notary, and the other way round.
        problems.push(`notary.service: "${service}" is also one of services; give Notary a name of its own`);
    }
    const gunPrefixes = raw.gunPrefixes === undefined ? undefined : stringList(raw.gunPrefixes, "notary.gunPrefixes", problems);
    if (raw.gunPrefixes === undefined || gunPrefixes?.length === 0) {
        problems.push(`notary.gunPrefixes: name at least one, the registry's host:port and a slash, e.g. ["reg.example.com:5000/"]`);
    }
    gunPrefixes?.forEach((prefix, index) => {
        if (!GUN_PREFIX.test(prefix)) {
            problems.push(`notary.gunPrefixes[${index}]: "${prefix}" is not host[:port]/ (lower-case path components may follow, each ending in /), e.g. "reg.example.com:5000/"`);
        }
    });
    if (problems.length > before) return undefined;
    return { service: service as string, gunPrefixes: gunPrefixes as string[] };
}

export function loadSettings(path: string): Settings {
    return parseSettings(readFileSync(path, "utf8"), dirname(resolve(path)), path);
}

const ACCESS_KEYS = ["users", "groups", "adminGroup", "rules"] as const;
const RULE_KEYS = ["users", "groups", "repositories", "actions", "catalog"] as const;
const RULE_ACTIONS: readonly string[] = [...REPOSITORY_ACTIONS, ALL_ACTIONS];

/** Parses and checks the access file: users, groups, the admin group and the rules. */
export function parseAccessPolicy(text: string, source = "access file"): AccessPolicy {
    const doc = parseDocument(text, source);
    const problems = unknownKeys(doc, ACCESS_KEYS, "");

    const users = new Set(stringList(doc.users ?? [], "users", problems) ?? []);
    if (users.has(ANONYMOUS)) {
        problems.push(`users: "${ANONYMOUS}" is reserved for requests without credentials; remove it`);
    }

    const groups = new Map<string, Set<string>>();
    const rawGroups = doc.groups ?? {};
    if (!isObject(rawGroups)) problems.push("groups: expected a mapping of group name to a list of users");
    else {
        for (const [group, members] of Object.entries(rawGroups)) {
            const list = stringList(members, `groups.${group}`, problems) ?? [];
            list.forEach((member, index) => {
                if (member === ANONYMOUS) {
                    problems.push(`groups.${group}[${index}]: "${ANONYMOUS}" cannot be a group member; give it rules of its own (users: [${ANONYMOUS}])`);
                } else if (!users.has(member)) {
                    problems.push(`groups.${group}[${index}]: unknown user "${member}"; declare it under users or fix the name`);
                }
            });
            groups.set(group, new Set(list));
        }
    }

    let adminGroup: string | undefined;
    if (doc.adminGroup !== undefined) {
        if (typeof doc.adminGroup !== "string" || !groups.has(doc.adminGroup)) {
            problems.push(`adminGroup: must name a group defined under groups (${[...groups.keys()].join(", ") || "none defined"})`);
        } else adminGroup = doc.adminGroup;
    }

    const rawRules = doc.rules ?? [];
    const rules: Rule[] = [];
    if (!Array.isArray(rawRules)) problems.push("rules: expected a list of rules");
    else rawRules.forEach((raw, index) => {
        const rule = parseRule(raw, `rules[${index}]`, users, groups, problems);
        if (rule) rules.push(rule);
    });

    if (problems.length > 0) throw new ConfigError(source, problems);
    return { users, groups, adminGroup, rules };
}

function parseRule(
    raw: unknown,
    where: string,
    users: Set<string>,
    groups: Map<string, Set<string>>,
    problems: string[],
): Rule | undefined {
    if (!isObject(raw)) {
        problems.push(`${where}: expected a mapping with users/groups, repositories and actions`);
        return undefined;
    }
    const before = problems.length;
    problems.push(...unknownKeys(raw, RULE_KEYS, `${where}.`));
    const ruleUsers = stringList(raw.users ?? [], `${where}.users`, problems) ?? [];
    ruleUsers.forEach((user, index) => {
        if (user !== ANONYMOUS && !users.has(user)) {
            problems.push(`${where}.users[${index}]: unknown user "${user}"; declare it under users, or use "${ANONYMOUS}" for everyone`);
        }
    });
    const ruleGroups = stringList(raw.groups ?? [], `${where}.groups`, problems) ?? [];
    ruleGroups.forEach((group, index) => {
        if (!groups.has(group)) problems.push(`${where}.groups[${index}]: unknown group "${group}"; define it under groups`);
    });
    if (ruleUsers.length === 0 && ruleGroups.length === 0) {
        problems.push(`${where}: names no users or groups; add users: [...] or groups: [...]`);
    }

    const repositories = stringList(raw.repositories ?? [], `${where}.repositories`, problems) ?? [];
    const repositoryMatchers: RegExp[] = [];
    repositories.forEach((pattern, index) => {
        try {
            repositoryMatchers.push(compilePattern(pattern));
        } catch (error) {
            if (!(error instanceof PatternError)) throw error;
            problems.push(`${where}.repositories[${index}]: malformed pattern "${pattern}": ${error.message}`);
        }
    });
    const actions = stringList(raw.actions ?? [], `${where}.actions`, problems) ?? [];
    actions.forEach((action, index) => {
        if (!RULE_ACTIONS.includes(action)) {
            problems.push(`${where}.actions[${index}]: unknown action "${action}"; use ${RULE_ACTIONS.join(", ")}`);
        }
    });
    if (repositories.length > 0 && actions.length === 0) problems.push(`${where}.actions: required with repositories, e.g. [pull]`);
    if (actions.length > 0 && repositories.length === 0) problems.push(`${where}.repositories: required with actions, e.g. ["team/**"]`);
    const catalog = raw.catalog ?? false;
    if (typeof catalog !== "boolean") problems.push(`${where}.catalog: expected true or false`);
    if (repositories.length === 0 && catalog !== true) {
        problems.push(`${where}: grants nothing; add repositories and actions, or catalog: true`);
    }
    if (problems.length > before) return undefined;
    return {
        users: ruleUsers,
        groups: ruleGroups,
        repositories,
        repositoryMatchers,
        actions: normaliseActions(actions),
        catalog: catalog === true,
    };
}
