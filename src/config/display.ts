/** A position in the configuration tree, in the YAML spelling: keys and list indexes. */
export type ConfigPath = readonly (string | number)[];

/** Keys whose values are credentials. A Slack webhook URL is itself the credential. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  "password",
  "secret",
  "slack_webhook",
  "dashboard_token",
]);

const SHOWN_CHARACTERS_MAX = 60;
const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** `protected_tables[1].verify_interval`, `node.peer_addrs.node2`, `node.peer_addrs["a.b"]`. */
export function formatPath(path: ConfigPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") {
      text += `[${segment}]`;
    } else if (PLAIN_KEY.test(segment)) {
      text += text === "" ? segment : `.${segment}`;
    } else {
      text += `[${JSON.stringify(segment)}]`;
    }
  }
  return text;
}

export function isSecretPath(path: ConfigPath): boolean {
  const last = path[path.length - 1];
  return typeof last === "string" && SECRET_KEYS.has(last);
}

/** A value as it appears in a problem line: quoted text, "a list", "a mapping". */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (typeof value === "string") {
    if (value.length <= SHOWN_CHARACTERS_MAX) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, SHOWN_CHARACTERS_MAX))}... (${value.length} characters)`;
  }
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/** Whether `prefix` is `path` or one of its ancestors. */
export function isPathPrefix(prefix: ConfigPath, path: ConfigPath): boolean {
  if (prefix.length > path.length) return false;
  return prefix.every((segment, index) => segment === path[index]);
}

export function pathKey(path: ConfigPath): string {
  return JSON.stringify(path);
}
