import { Command, CommanderError, Option } from "commander";
import { createDevelopmentCertificates } from "../certs/index.js";
import {
  ConfigError,
  formatConfigError,
  loadConfig,
  parseDuration,
  type WitnzConfig,
} from "../config/index.js";
import { formatDemoSummary, runDemo } from "../demo/index.js";
import { keygen, loadNodeKey } from "../keys/index.js";
import { createLogger } from "../log/index.js";
import { restoreNodeStore, startNode } from "../node/index.js";
import { initNode } from "../setup/index.js";
import { formatStatusJson, formatStatusText, readNodeStatus } from "../status/index.js";
import {
  formatProgressLine,
  formatVerificationJson,
  formatVerificationText,
  type VerifyProgress,
  verifyNode,
} from "../verify/index.js";
import {
  formatQuickVerifyJson,
  formatQuickVerifyText,
  quickVerify,
  startWitness,
  witnessEndpoints,
} from "../witness/index.js";
import { CliError } from "./errors.js";
import { packageVersion } from "./version.js";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const CONFIG_OPTION = () =>
  new Option("-c, --config <file>", "configuration file (YAML)").env("WITNZ_CONFIG");

/**
 * Loads and validates the configuration: warnings go to stderr, problems become a CliError whose
 * message is one line per problem.
 */
function loadConfigFor(verb: string, file: string | undefined, io: CliIo): WitnzConfig {
  if (file === undefined || file === "") {
    throw new CliError(
      "WITNZ_CONFIG_MISSING",
      `witnz ${verb} needs --config FILE (or WITNZ_CONFIG)`,
    );
  }
  try {
    const { config, warnings } = loadConfig(file, { env: io.env });
    for (const warning of warnings) io.stderr(`witnz: warning: ${warning}\n`);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new CliError(error.code, formatConfigError(error), { cause: error });
    }
    throw error;
  }
}

/** Resolves on the first of `signals`; the process keeps running until then. */
function untilSignal(signals: readonly NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      for (const name of signals) process.off(name, handler);
      resolve(signal);
    };
    for (const name of signals) process.on(name, handler);
  });
}

export function buildProgram(io: CliIo): Command {
  const program = new Command("witnz")
    .description(
      "Tamper evidence for PostgreSQL tables: independent observers, hash chains, RFC 6962 Merkle trees and signed checkpoints.",
    )
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  program
    .command("keygen")
    .description("write a new Ed25519 key pair (node.key mode 0600, node.pub); never overwrites")
    .requiredOption("-o, --out <dir>", "directory to write the key pair into")
    .option("-n, --name <name>", "key name used in signed notes (no spaces or '+')", "witnz")
    .action(async (options: { out: string; name: string }) => {
      const result = await keygen(options.out, options.name);
      io.stdout(
        [
          `wrote ${result.privateKeyPath} (private key, mode 0600)`,
          `wrote ${result.publicKeyPath} (public key)`,
          `verifier key:            ${result.verifierKey}`,
          `cosigner verifier key:   ${result.cosignerVerifierKey}`,
          "",
        ].join("\n"),
      );
    });

  program
    .command("certs")
    .description("write a development CA and mutual-TLS certificates for the Raft transport")
    .requiredOption("-o, --out <dir>", "directory to write ca.crt, ca.key, <node>.crt, <node>.key")
    .requiredOption("--nodes <ids>", "comma-separated node ids, e.g. node1,node2,node3")
    .action(async (options: { out: string; nodes: string }) => {
      const nodes = options.nodes
        .split(",")
        .map((node) => node.trim())
        .filter((node) => node !== "");
      const result = await createDevelopmentCertificates({ outDirectory: options.out, nodes });
      const lines = [`wrote ${result.caCertificatePath} and ${result.caKeyPath} (development CA)`];
      for (const node of result.nodes) {
        lines.push(`wrote ${node.certificatePath} and ${node.keyPath} (${node.node})`);
      }
      io.stdout(`${lines.join("\n")}\n`);
    });

  program
    .command("init")
    .description("check PostgreSQL and create the publication and this node's replication slot")
    .addOption(CONFIG_OPTION())
    .action(async (...args: unknown[]) => {
      const options = args.at(-2) as { config?: string };
      const config = loadConfigFor("init", options.config, io);
      // An unreachable database or unusable configuration throws a coded error: one line, exit 2.
      const result = await initNode(config, { out: (line) => io.stdout(`${line}\n`) });
      const failed = result.checks.filter((check) => check.status === "fail").length;
      if (!result.ok) {
        throw new CliError(
          "WITNZ_INIT_FAILED",
          `init failed: ${failed} ${failed === 1 ? "check" : "checks"} failed (see the FAIL lines)`,
          { exitCode: 1 },
        );
      }
      io.stdout(result.changed ? "initialised\n" : "already initialised: nothing changed\n");
    });
  program
    .command("start")
    .description("run the node: capture, hash, replicate, alert")
    .addOption(CONFIG_OPTION())
    .action(async (...args: unknown[]) => {
      const options = args.at(-2) as { config?: string };
      const config = loadConfigFor("start", options.config, io);
      if (config.node.role === "witness") {
        const logger = createLogger({ level: config.node.logLevel, nodeId: config.node.id });
        const witness = await startWitness(config, { logger });
        io.stderr(
          `witnz: witness ${config.node.id} serving ${witness.url}; health at ${witness.httpUrl}/healthz\n`,
        );
        await untilSignal(["SIGINT", "SIGTERM"]);
        logger.info({}, "stopping");
        await witness.stop();
        return;
      }
      const logger = createLogger({ level: config.node.logLevel, nodeId: config.node.id });
      const node = await startNode(config, { logger });
      io.stderr(`witnz: node ${config.node.id} running; health at ${node.httpUrl}/healthz\n`);
      await untilSignal(["SIGINT", "SIGTERM"]);
      logger.info({}, "stopping");
      await node.stop();
    });
  program
    .command("restore")
    .description("rebuild this cluster member's lost store from a peer (run while it is stopped)")
    .addOption(CONFIG_OPTION())
    .option("--from <node>", "the peer to copy from (default: the first that answers)")
    .action(async (...args: unknown[]) => {
      const options = args.at(-2) as { config?: string; from?: string };
      const config = loadConfigFor("restore", options.config, io);
      const result = await restoreNodeStore(config, {
        ...(options.from === undefined ? {} : { from: options.from }),
        out: (line) => io.stderr(`witnz: ${line}\n`),
      });
      io.stdout(
        `restored from ${result.from}: ${result.entries} entries; ${result.tables
          .map((table) => `${table.table} ${table.size}`)
          .join(", ")}\nthe next start marks this node restored and re-verifies every table\n`,
      );
    });
  program
    .command("status")
    .description("show chains, roots, lag and cluster health")
    .addOption(CONFIG_OPTION())
    .option("--json", "machine-readable output")
    .action(async (...args: unknown[]) => {
      const options = args.at(-2) as { config?: string; json?: boolean };
      const config = loadConfigFor("status", options.config, io);
      const status = await readNodeStatus(config);
      // Whatever could be read is printed, even when something else could not.
      io.stdout(options.json === true ? formatStatusJson(status) : formatStatusText(status));
      if (!status.complete) {
        throw new CliError(
          "WITNZ_STATUS_INCOMPLETE",
          `status incomplete: ${status.errors.join("; ")}`,
        );
      }
    });
  program
    .command("verify")
    .description("verify protected tables against their recorded hashes")
    .argument("[table]", "one table (default: all protected tables)")
    .addOption(CONFIG_OPTION())
    .option("--json", "machine-readable output")
    .option("--quick", "compare roots with peers and witnesses only")
    .action(async (...args: unknown[]) => {
      const table = args[0] as string | undefined;
      const options = args.at(-2) as { config?: string; json?: boolean; quick?: boolean };
      const config = loadConfigFor("verify", options.config, io);
      if (options.quick === true) {
        if (config.witnzNodes.length === 0) {
          throw new CliError(
            "WITNZ_NO_WITNESSES",
            "verify --quick needs witnz_nodes in the configuration",
          );
        }
        const report = await quickVerify({
          customerId: config.node.clusterId ?? "default",
          querySigner: { nodeId: config.node.id, privateKey: await loadNodeKey(config.node) },
          witnesses: witnessEndpoints(config),
          ...(table === undefined ? {} : { tables: [table] }),
        });
        io.stdout(
          options.json === true ? formatQuickVerifyJson(report) : formatQuickVerifyText(report),
        );
        if (report.exitCode === 1) {
          throw new CliError(
            "WITNZ_TAMPERING_FOUND",
            "the majority of witnesses reports tampering",
            {
              exitCode: 1,
            },
          );
        }
        if (report.exitCode === 2) {
          throw new CliError(
            "WITNZ_WITNESS_NO_MAJORITY",
            "no verdict from a majority of witnesses for every table",
          );
        }
        return;
      }
      // A progress bar only for a person watching a terminal; never in pipes or logs.
      const showProgress = process.stderr.isTTY === true;
      const result = await verifyNode(config, {
        ...(table === undefined ? {} : { table }),
        ...(showProgress
          ? { onProgress: (progress: VerifyProgress) => io.stderr(formatProgressLine(progress)) }
          : {}),
      });
      io.stdout(
        options.json === true ? formatVerificationJson(result) : formatVerificationText(result),
      );
      const tampered = result.tables.filter((entry) => !entry.ok).map((entry) => entry.table);
      if (tampered.length > 0) {
        // Tampering is a finding, not an error: the report is printed; exit 1.
        throw new CliError("WITNZ_TAMPERING_FOUND", `tampering found in ${tampered.join(", ")}`, {
          exitCode: 1,
        });
      }
    });
  program
    .command("demo")
    .description(
      "run PostgreSQL, three raft nodes, three witnesses, a writer and scripted tampering on this machine",
    )
    .option("--duration <duration>", "how long the writer runs (e.g. 60s, 2m)", "60s")
    .option("--no-tamper", "only the steady state and the writer; skip the scripted tampering")
    .option(
      "--port <port>",
      "the first node's HTTP port, where the dashboard is (0: a free one)",
      "0",
    )
    .option("--keep", "keep the temporary data (configurations, stores) and print where")
    .action(
      async (options: { duration: string; tamper: boolean; port: string; keep?: boolean }) => {
        const durationMs = parseDuration(options.duration);
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65_535) {
          throw new CliError("WITNZ_DEMO_PORT", `--port ${options.port} is not a port (0..65535)`);
        }
        const summary = await runDemo({
          durationMs,
          tamper: options.tamper,
          port,
          keep: options.keep === true,
          out: (line) => io.stdout(`${line}\n`),
          interrupted: untilSignal(["SIGINT", "SIGTERM"]).then(() => undefined),
        });
        io.stdout(formatDemoSummary(summary));
        if (summary.interrupted) {
          throw new CliError("WITNZ_DEMO_INTERRUPTED", "demo interrupted", { exitCode: 130 });
        }
        if (!summary.ok) {
          const missed = summary.detections.filter((detection) => !detection.ok);
          throw new CliError(
            "WITNZ_DEMO_MISSED",
            `missed: ${missed.map((detection) => detection.text).join("; ")}`,
            { exitCode: 1 },
          );
        }
      },
    );

  return program;
}

/** Runs the CLI; returns the process exit code. Errors become one line on stderr. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      io.stderr(`witnz: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof Error && "code" in error && typeof error.code === "string") {
      io.stderr(`witnz: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
