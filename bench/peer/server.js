// The peer's server: express-pouchdb on loopback holding a register of `size` case documents, `caseload` of
// them assigned to officer 1, shaped like the register's device snapshot. Prints "ready <port>" when listening.
"use strict";
const path = require("path");
const PouchDB = require("pouchdb");
const { parseArgs } = require("util");

const { values: args } = parseArgs({ options: {
  port: { type: "string", default: "0" }, dir: { type: "string" },
  size: { type: "string", default: "1000" }, caseload: { type: "string", default: "300" } } });

function caseDoc(i, officer) {
  return {
    _id: `case-${String(i).padStart(7, "0")}`, officer_id: officer, reference: `CME-BENCH-${i}`, status: "open",
    child: { first_name: `Child${i}`, last_name: "Example", preferred_name: null, dob: "2014-05-01", gender: "F" },
    current_address: { line1: `${i} Example Street`, line2: null, town: "Exampletown", postcode: "ZZ1 1ZZ" },
    contact_phone: "01632 960000", contact_email: null,
    carers: [{ id: i, name: "A. Carer", relationship: "mother", parental_responsibility: true, phone: null, email: null }],
    last_school: { name: "Example Primary", on_roll: "2019-09-04", off_roll: null },
    safeguarding: { cp: false, cin: false, cic: false },
    assignment: { id: i, due: null, instructions: "Home visit", acknowledged: false }, recent_enquiries: [],
  };
}

async function seed(db, size, caseload) {
  const step = Math.max(1, Math.floor(size / caseload));
  let assigned = 0;
  for (let start = 0; start < size; start += 5000) {
    const docs = [];
    for (let i = start; i < Math.min(size, start + 5000); i++) {
      const mine = i % step === 0 && assigned < caseload;
      if (mine) assigned++;
      docs.push(caseDoc(i, mine ? 1 : 2 + (i % 50)));
    }
    await db.bulkDocs(docs);
  }
}

async function main() {
  const Pouch = PouchDB.defaults({ prefix: path.join(args.dir, path.sep) });
  const db = new Pouch("cases");
  await seed(db, Number(args.size), Number(args.caseload));
  const app = require("express-pouchdb")(Pouch, { mode: "minimumForPouchDB", logPath: path.join(args.dir, "log.txt") });
  const server = app.listen(Number(args.port), "127.0.0.1", () => console.log(`ready ${server.address().port}`));
}

main().catch((err) => { console.error(err); process.exit(1); });
