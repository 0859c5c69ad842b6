# Run by runner.mjs (--prelude) in __main__ before every script; leaves no names behind.
import wasm_shims  # patches asyncio; see support/wasm_shims.py

del wasm_shims
