// The peer's client: PouchDB (LevelDB on disk) replicating officer 1's cases from the server with a selector.
// Prints JSON: initial replication, a replication with no changes and one after one changed case (medians, ms).
"use strict";
const path = require("path");
const PouchDB = require("pouchdb");
const { parseArgs } = require("util");

const { values: args } = parseArgs({ options: {
  url: { type: "string" }, dir: { type: "string" }, repeat: { type: "string", default: "30" } } });
const SELECTOR = { officer_id: 1 };

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

async function timed(fn) { const t = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t) / 1e6; }

async function main() {
  const remote = new PouchDB(args.url);
  const local = new PouchDB(path.join(args.dir, "device"));
  const replicate = () => PouchDB.replicate(remote, local, { selector: SELECTOR, batch_size: 100 });
  let written = 0;
  const initial = await timed(async () => { written = (await replicate()).docs_written; });
  const repeat = Number(args.repeat);
  const none = [], one = [];
  for (let i = 0; i < repeat; i++) none.push(await timed(replicate));
  const mine = (await local.allDocs({ limit: 1 })).rows[0].id;
  for (let i = 0; i < repeat; i++) {
    const doc = await remote.get(mine);
    doc.contact_phone = `01632 96${String(i).padStart(4, "0")}`;
    await remote.put(doc);
    one.push(await timed(replicate));
  }
  const held = (await local.allDocs()).total_rows;
  console.log(JSON.stringify({ initial_ms: initial, no_change_ms: median(none), one_change_ms: median(one),
                               docs_written: written, held }));
}

main().catch((err) => { console.error(err); process.exit(1); });
