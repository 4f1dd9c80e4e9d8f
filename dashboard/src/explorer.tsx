// The hash chain explorer: find an entry by sequence number or primary key, show it with its
// inclusion proof and the signed checkpoint it is under, and check the proof here in the page
// with WebCrypto's SHA-256 (RFC 9162), trusting nothing the server computed but the hashes.
import { type FormEvent, useState } from "react";
import type { EntryLookup, EntryQuery } from "../../src/dashboard/api.js";
import {
  type InPageVerification,
  verifyEntryInclusion,
} from "../../src/dashboard/inclusion-proof.js";
import { type SignatureCheck, verifyNoteSignature } from "../../src/dashboard/note-signature.js";
import { getApi } from "./api-client.js";

async function webCryptoSha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
}

async function webCryptoEd25519(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    "raw",
    new Uint8Array(publicKey),
    { name: "Ed25519" },
    false,
    ["verify"],
  );
  return crypto.subtle.verify(
    { name: "Ed25519" },
    key,
    new Uint8Array(signature),
    new Uint8Array(message),
  );
}

/** The signature check, or why this browser could not make it. */
async function checkSignature(note: string, verifierKey: string): Promise<SignatureCheck> {
  try {
    return await verifyNoteSignature(note, verifierKey, webCryptoSha256, webCryptoEd25519);
  } catch (error) {
    return {
      verified: false,
      detail: `this browser could not check an Ed25519 signature: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** One value, or a JSON array of values for a key of several columns: ["a", "7"]. */
function parsePrimaryKey(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed)) throw new Error("a key of several columns is a JSON array");
    return parsed.map(String);
  }
  return [trimmed];
}

type Verification = InPageVerification | { verified: false; detail: string; computedRoot: null };

export function Explorer({
  tables,
  verifierKey,
}: {
  tables: readonly string[];
  /** The key the answering node says it signs with; null when it names none. */
  verifierKey: string | null;
}) {
  const [table, setTable] = useState("");
  const [mode, setMode] = useState<"seq" | "pk">("seq");
  const [value, setValue] = useState("");
  const [lookup, setLookup] = useState<EntryLookup | null>(null);
  const [verification, setVerification] = useState<Verification | null>(null);
  const [signature, setSignature] = useState<SignatureCheck | null>(null);
  const [error, setError] = useState<string | null>(null);
  const chosenTable = table === "" ? (tables[0] ?? "") : table;

  const search = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setLookup(null);
    setVerification(null);
    setSignature(null);
    try {
      const query: EntryQuery =
        mode === "seq"
          ? { table: chosenTable, seq: Number(value.trim()) }
          : { table: chosenTable, primaryKey: parsePrimaryKey(value) };
      const answer = await getApi("/api/v1/entry", query);
      setLookup(answer);
      if (!answer.found || answer.proof === null || answer.checkpoint === null) return;
      if (globalThis.crypto?.subtle === undefined) {
        setVerification({
          verified: false,
          detail: "this page cannot use WebCrypto: open it over HTTPS or on localhost",
          computedRoot: null,
        });
        return;
      }
      setVerification(
        await verifyEntryInclusion(webCryptoSha256, answer.entry, answer.proof, answer.checkpoint),
      );
      if (verifierKey !== null) {
        setSignature(await checkSignature(answer.checkpoint.text, verifierKey));
      }
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };

  return (
    <section className="panel" aria-labelledby="explorer-title">
      <h2 id="explorer-title">Hash chain explorer</h2>
      <form className="explorer-form" onSubmit={search}>
        <label>
          table{" "}
          <select
            value={chosenTable}
            onChange={(event) => setTable(event.target.value)}
            data-testid="explorer-table"
          >
            {tables.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          by{" "}
          <select
            value={mode}
            onChange={(event) => setMode(event.target.value === "pk" ? "pk" : "seq")}
            data-testid="explorer-mode"
          >
            <option value="seq">sequence number</option>
            <option value="pk">primary key</option>
          </select>
        </label>
        <label>
          {mode === "seq" ? "seq" : "key"}{" "}
          <input
            value={value}
            onChange={(event) => setValue(event.target.value)}
            placeholder={mode === "seq" ? "1" : '42 or ["a", "7"]'}
            data-testid="explorer-value"
          />
        </label>
        <button type="submit" disabled={chosenTable === "" || value.trim() === ""}>
          Find
        </button>
      </form>
      {error === null ? null : <p className="alarm">{error}</p>}
      {lookup === null ? null : lookup.found ? (
        <div data-testid="explorer-result">
          <dl className="entry">
            <dt>table</dt>
            <dd>{lookup.table}</dd>
            <dt>seq</dt>
            <dd data-testid="entry-seq">{lookup.entry.seq}</dd>
            <dt>primary key</dt>
            <dd>{JSON.stringify(lookup.entry.primaryKey)}</dd>
            <dt>LSN</dt>
            <dd>{lookup.entry.lsn}</dd>
            <dt>data hash</dt>
            <dd className="hash">{lookup.entry.dataHash}</dd>
            <dt>chain hash</dt>
            <dd className="hash">{lookup.entry.chainHash}</dd>
          </dl>
          {lookup.proof === null || lookup.checkpoint === null ? (
            <p className="quiet">No signed checkpoint covers this entry yet.</p>
          ) : (
            <>
              <h3>
                Inclusion proof: leaf {lookup.proof.leafIndex} of {lookup.proof.treeSize}
              </h3>
              <ol className="proof">
                {lookup.proof.hashes.map((hash) => (
                  // Sibling hashes on one path are distinct SHA-256 values.
                  <li key={hash} className="hash">
                    {hash}
                  </li>
                ))}
              </ol>
              <h3>Checkpoint (signed note)</h3>
              <pre className="note">{lookup.checkpoint.text}</pre>
            </>
          )}
          {verification === null ? null : (
            <p
              className={verification.verified ? "verdict ok" : "verdict alarm"}
              data-testid="proof-verdict"
            >
              {verification.verified ? "verified" : "NOT verified"}: {verification.detail}
              {verification.computedRoot === null ? null : (
                <span className="hash"> (root {verification.computedRoot})</span>
              )}
            </p>
          )}
          {signature === null ? null : (
            <>
              <p
                className={signature.verified ? "verdict ok" : "verdict alarm"}
                data-testid="signature-verdict"
              >
                signature {signature.verified ? "verified" : "NOT verified"}: {signature.detail}
              </p>
              <p className="quiet">
                checked with the key this node reports, <code className="hash">{verifierKey}</code>:
                compare it with the key you hold for this node before trusting the checkpoint.
              </p>
            </>
          )}
        </div>
      ) : (
        <p className="alarm" data-testid="explorer-not-found">
          {lookup.reason}
        </p>
      )}
    </section>
  );
}
