#!/usr/bin/env node
// Run a Python script under real MicroPython 1.29 (the official WebAssembly build, npm package
// @micropython/micropython-webassembly-pyscript) in Node.
//
//   node tests/mpy/runner.mjs [options] (SCRIPT.py | -c CODE) [ARG ...]
//
//   --mount HOSTDIR:/MPDIR  copy HOSTDIR (recursively; *.py and *.json) into the in-memory
//                           filesystem at /MPDIR and put /MPDIR on sys.path. Repeatable; earlier
//                           mounts come first on sys.path, ahead of the built-in/frozen modules,
//                           so mount the fakes first to shadow `machine`, `bluetooth`, `esp32`.
//   --input FILE            expose FILE's text as `hostio.input` (otherwise None).
//   --emit FILE             write every `hostio.emit(str)` as a JSON array of strings to FILE
//                           (default: print each to stdout as "[emit] <str>").
//   --prelude FILE          run FILE's code in __main__ before the script (setup, shims).
//   --settrace              load the variant built with sys.settrace.
//   --heap SIZE             initial GC heap, e.g. 4M, 512K, 1048576 (default 4M).
//   -c CODE                 run CODE instead of a script file.
//
// The script runs via runPythonAsync, so it may use top-level `await`. sys.argv is
// [SCRIPT or "-c", ARG ...]. Exit status: 0 on success, the SystemExit code, or 1 after printing
// the MicroPython traceback to stderr for any other exception.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const PACKAGE = "@micropython/micropython-webassembly-pyscript";

function usage(message) {
  process.stderr.write(`runner.mjs: ${message}\n`);
  process.stderr.write("usage: runner.mjs [--mount HOST:/MP]... [--input F] [--emit F] " +
    "[--prelude F] [--settrace] [--heap SIZE] (SCRIPT | -c CODE) [ARG ...]\n");
  process.exit(2);
}

function parseSize(text) {
  const m = /^(\d+)([kKmM]?)$/.exec(text);
  if (!m) usage(`bad --heap size: ${text}`);
  const scale = { "": 1, k: 1024, m: 1024 * 1024 }[m[2].toLowerCase()];
  return Number(m[1]) * scale;
}

function parseArgs(argv) {
  const opts = { mounts: [], input: null, emit: null, prelude: null, settrace: false,
    heap: 4 * 1024 * 1024, script: null, code: null, args: [] };
  let i = 0;
  const value = (name) => {
    if (i + 1 >= argv.length) usage(`${name} needs a value`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--mount") {
      const spec = value(a);
      const at = spec.lastIndexOf(":/");
      if (at <= 0) usage(`--mount wants HOSTDIR:/MPDIR, got ${spec}`);
      opts.mounts.push([spec.slice(0, at), spec.slice(at + 1).replace(/\/+$/, "") || "/"]);
    } else if (a === "--input") opts.input = value(a);
    else if (a === "--emit") opts.emit = value(a);
    else if (a === "--prelude") opts.prelude = value(a);
    else if (a === "--settrace") opts.settrace = true;
    else if (a === "--heap") opts.heap = parseSize(value(a));
    else if (a === "-c") { opts.code = value(a); opts.args = argv.slice(i + 1); break; }
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else { opts.script = a; opts.args = argv.slice(i + 1); break; }
  }
  if (opts.script === null && opts.code === null) usage("no script given");
  return opts;
}

// Copy a host directory tree (only .py and .json files) into the Emscripten MEMFS.
function copyTree(FS, hostDir, mpDir) {
  FS.mkdirTree(mpDir);
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    const hostPath = path.join(hostDir, entry.name);
    const mpPath = `${mpDir === "/" ? "" : mpDir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== "__pycache__" && !entry.name.startsWith(".")) {
        copyTree(FS, hostPath, mpPath);
      }
    } else if (/\.(py|json)$/.test(entry.name)) {
      FS.writeFile(mpPath, fs.readFileSync(hostPath));
    }
  }
}

// Map a Python exception raised out of runPython* to a process exit status.
function exitStatus(error) {
  if (error?.name !== "PythonError") throw error;
  if (error.type === "SystemExit") {
    // The message is a traceback ending in "SystemExit: <arg>".
    const lines = error.message.trimEnd().split("\n");
    const arg = lines[lines.length - 1].replace(/^SystemExit:?\s?/, "");
    if (arg === "" || arg === "None") return 0;
    if (/^-?\d+$/.test(arg)) return Number(arg) & 0xff;
    process.stderr.write(`${arg}\n`);
    return 1;
  }
  process.stderr.write(error.message.endsWith("\n") ? error.message : `${error.message}\n`);
  return 1;
}

// Collect bytes and hand complete lines to `write`; flush() writes any unterminated tail.
function lineWriter(stream) {
  let pending = [];
  const put = (byte) => {
    pending.push(byte);
    if (byte === 10) flush();
  };
  const flush = () => {
    if (pending.length) stream.write(Buffer.from(pending));
    pending = [];
  };
  return { put: (bytes) => bytes.forEach(put), flush };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve(`${PACKAGE}/package.json`));
  const { loadMicroPython } = await import(path.join(pkgDir, "micropython.mjs"));

  const out = lineWriter(process.stdout);
  const err = lineWriter(process.stderr);
  const emitted = [];
  let status = 0;
  try {
    const mp = await loadMicroPython({
      url: path.join(pkgDir, opts.settrace ? "micropython-settrace.wasm" : "micropython.wasm"),
      heapsize: opts.heap,
      linebuffer: false,
      stdout: out.put,
      stderr: err.put,
    });
    for (const [hostDir, mpDir] of opts.mounts) copyTree(mp.FS, hostDir, mpDir);
    mp.registerJsModule("hostio", {
      input: opts.input === null ? null : fs.readFileSync(opts.input, "utf8"),
      emit: (s) => {
        if (opts.emit === null) out.put([...Buffer.from(`[emit] ${s}\n`)]);
        emitted.push(String(s));
      },
    });
    const argv = [opts.script ?? "-c", ...opts.args];
    const mountPaths = opts.mounts.map(([, mpDir]) => mpDir);
    mp.runPython(
      `import sys\nsys.path[:0] = ${JSON.stringify(mountPaths)}\n` +
      `sys.argv[:] = ${JSON.stringify(argv)}\ndel sys`,
    );
    if (opts.prelude !== null) await mp.runPythonAsync(fs.readFileSync(opts.prelude, "utf8"));
    const code = opts.code ?? fs.readFileSync(opts.script, "utf8");
    await mp.runPythonAsync(code);
  } catch (error) {
    out.flush();
    err.flush();
    status = exitStatus(error);
  }
  out.flush();
  err.flush();
  if (opts.emit !== null) fs.writeFileSync(opts.emit, JSON.stringify(emitted));
  // Exit now: background asyncio tasks (e.g. a firmware main loop) would keep Node alive.
  process.exit(status);
}

await main();
