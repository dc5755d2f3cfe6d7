import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A git repository under `parent` holding only `ciFile` as its .gitlab-ci.yml, as gitlab-ci-local
 * reads one: committed on main, with an origin/main it never fetches (no network needed).
 */
export async function gitlabRepository(parent: string, name: string, ciFile: string, originUrl: string): Promise<string> {
    const dir = path.join(parent, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, ".gitlab-ci.yml"), ciFile);
    const git = (...args: string[]) => run("git", ["-c", "user.name=ci", "-c", "user.email=ci@example.com", ...args], { cwd: dir });
    await git("init", "-q", "-b", "main");
    await git("add", ".gitlab-ci.yml");
    await git("commit", "-q", "-m", "ci");
    await git("remote", "add", "origin", originUrl);
    await git("update-ref", "refs/remotes/origin/main", "HEAD");
    await git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main");
    return dir;
}
