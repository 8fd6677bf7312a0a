#!/usr/bin/env node
// A solc command-line stand-in backed by solc-js (npm `solc`, the official emscripten build).
//
// py-solc-x and ape-solidity drive solc through two calls only: `--version` and
// `--standard-json` (input on stdin, output on stdout). This adapter answers exactly those, so
// the pinned solc-js compiles here where native solc binaries cannot be downloaded. Imports are
// resolved against --base-path, each --include-path and the working directory, like solc does.
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

function parseArgs(argv) {
  const options = { basePath: null, includePaths: [], standardJson: false, version: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const [flag, inlineValue] = arg.split("=", 2);
    const value = () => (inlineValue !== undefined ? inlineValue : argv[++i]);
    if (flag === "--version") options.version = true;
    else if (flag === "--standard-json") options.standardJson = true;
    else if (flag === "--base-path") options.basePath = value();
    else if (flag === "--include-path") options.includePaths.push(value());
    else if (flag === "--allow-paths") value(); // solc-js reads only through the callback below
  }
  return options;
}

function importResolver(options) {
  const roots = [options.basePath, ...options.includePaths, process.cwd()].filter(Boolean);
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.resolve(root, importPath));
    for (const candidate of candidates) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        return { contents: fs.readFileSync(candidate, "utf8") };
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
  };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (!options.standardJson) {
    process.stderr.write("solc-adapter: only --version and --standard-json are supported\n");
    process.exitCode = 2;
    return;
  }
  const input = fs.readFileSync(0, "utf8");
  const output = solc.compile(input, { import: importResolver(options) });
  // Let stdout drain instead of calling process.exit(): exiting early cut piped output at ~128 KiB.
  process.stdout.write(output);
}

main();
