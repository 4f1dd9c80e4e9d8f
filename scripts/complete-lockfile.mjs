#!/usr/bin/env node
// The package registry this project installs from serves only the platform builds of native
// packages that its machines use, so `npm install` leaves the other platforms' optional packages
// out of package-lock.json, and `npm ci` then refuses the lock file as out of sync. This adds a
// lock entry for each missing platform package (os/cpu/libc taken from its name), which `npm ci`
// skips on every other platform exactly as it would with a complete lock file.
// Run after changing dependencies: `npm install && npm run lock:complete`.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;
const OS = ["darwin", "linux", "win32", "android", "freebsd", "openbsd", "sunos", "aix"];
const CPU = ["x64", "arm64", "arm", "ia32", "riscv64", "ppc64", "s390x", "loong64"];

function platformOf(name) {
  const parts = name.split("/").pop().split("-");
  const os = parts.find((part) => OS.includes(part));
  const cpuPart = parts.find((part) => CPU.includes(part) || part === "armv7");
  const cpu = cpuPart === "armv7" ? "arm" : cpuPart;
  if (os === undefined || cpu === undefined) return undefined;
  const platform = { os: [os], cpu: [cpu] };
  if (parts.includes("musl")) platform.libc = ["musl"];
  else if (os === "linux") platform.libc = ["glibc"];
  return platform;
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location}/node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[nested] || packages[hoisted]) continue;
    const platform = platformOf(name);
    if (platform === undefined) {
      console.error(`skipped ${name}: not a platform package; install it or drop it`);
      process.exitCode = 1;
      continue;
    }
    packages[hoisted] = { version: version.replace(/^[\^~]/, ""), ...platform, optional: true };
    if (entry.dev) packages[hoisted].dev = true;
    added += 1;
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} platform entries`);
