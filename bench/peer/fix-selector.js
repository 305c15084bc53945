// express-pouchdb 4.2.0 drops the `selector` a replicating client POSTs to _changes?filter=_selector, so every
// document would be sent. Pass it through, as CouchDB does (idempotent; run after every install).
"use strict";
const fs = require("fs");
const path = require("path");

const file = path.join(__dirname, "node_modules", "express-pouchdb", "lib", "routes", "changes.js");
const anchor = "if (req.body && req.body.doc_ids) {";
const fix = "if (req.body && req.body.selector) { req.query.selector = req.body.selector; }\n    ";
const source = fs.readFileSync(file, "utf8");
if (!source.includes("req.body.selector")) {
  if (!source.includes(anchor)) throw new Error("express-pouchdb changed: cannot apply the selector fix");
  fs.writeFileSync(file, source.replace(anchor, fix + anchor));
  console.log("express-pouchdb: selector fix applied");
}
