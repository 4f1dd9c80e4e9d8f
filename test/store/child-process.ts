import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));
/** Ignored by git; inside the repository so that the child resolves node_modules. */
const artifactsRoot = join(repositoryRoot, "test-artifacts");

/**
 * Transpiles the store (with the modules it imports) and the crash writer to JavaScript, so that a plain `node` child runs
 * exactly the source under test. Returns the writer's path and a cleanup.
 */
export async function buildCrashWriter(): Promise<{ script: string; remove: () => Promise<void> }> {
  await mkdir(artifactsRoot, { recursive: true });
  const outputRoot = await mkdtemp(join(artifactsRoot, "store-child-"));
  // The store and the modules it imports: crypto (SHA-256), hash (the chain hash) and merkle
  // (the tree nodes the store derives).
  const sources: string[] = [];
  for (const module of ["store", "crypto", "hash", "merkle"]) {
    const moduleDirectory = join(repositoryRoot, "src", module);
    for (const name of await readdir(moduleDirectory)) {
      if (name.endsWith(".ts")) sources.push(join(moduleDirectory, name));
    }
  }
  sources.push(join(repositoryRoot, "test", "store", "crash-writer.ts"));
  for (const source of sources) {
    const output = ts.transpileModule(await readFile(source, "utf8"), {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
      fileName: source,
    });
    const target = join(outputRoot, relative(repositoryRoot, source)).replace(/\.ts$/, ".js");
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, output.outputText);
  }
  return {
    script: join(outputRoot, "test", "store", "crash-writer.js"),
    remove: () => rm(outputRoot, { recursive: true, force: true }),
  };
}

export interface ChildRun {
  /** Sizes the child printed as acknowledged, in order. */
  readonly ackedSizes: number[];
  /** Complete stdout lines other than acknowledgements. */
  readonly otherLines: string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/**
 * Runs the writer; with `killAfterAcks`, sends SIGKILL as soon as that many acknowledgements
 * have arrived, while the child is still committing. `fileSizeKibibytesMax` runs the child
 * under that file size limit (a disk that fills up). Gives up after `timeoutMs`.
 */
export function runCrashWriter(options: {
  script: string;
  directory: string;
  seed: number;
  mode: "append" | "fill" | "exit" | "inspect";
  killAfterAcks?: number;
  /** With `killAfterAcks`: wait this long after the last of them before the kill. */
  killDelayMs?: number;
  fileSizeKibibytesMax?: number;
  timeoutMs: number;
}): Promise<ChildRun> {
  const nodeArguments = [options.script, options.directory, String(options.seed), options.mode];
  const child: ChildProcess =
    options.fileSizeKibibytesMax === undefined
      ? spawn(process.execPath, nodeArguments, { stdio: ["ignore", "pipe", "pipe"] })
      : spawn(
          "bash",
          [
            "-c",
            `ulimit -f ${options.fileSizeKibibytesMax} && exec "$0" "$@"`,
            process.execPath,
            ...nodeArguments,
          ],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
  const ackedSizes: number[] = [];
  const otherLines: string[] = [];
  let stdoutRest = "";
  let killScheduled = false;
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the child did not finish within ${options.timeoutMs} ms: ${stderr}`));
    }, options.timeoutMs);
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.stdout?.on("data", (chunk: string) => {
      stdoutRest += chunk;
      const lines = stdoutRest.split("\n");
      stdoutRest = lines.pop() ?? "";
      for (const line of lines) {
        const acked = /^acked (\d+)$/.exec(line);
        if (acked === null) otherLines.push(line);
        else ackedSizes.push(Number(acked[1]));
      }
      if (
        options.killAfterAcks !== undefined &&
        ackedSizes.length >= options.killAfterAcks &&
        !killScheduled
      ) {
        killScheduled = true;
        setTimeout(() => child.kill("SIGKILL"), options.killDelayMs ?? 0);
      }
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ ackedSizes, otherLines, exitCode, signal, stderr });
    });
  });
}
