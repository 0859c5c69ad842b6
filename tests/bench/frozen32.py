"""MicroPython's unix port built 32-bit like the ESP32, in two images, for bench_memory.py.

    python tests/bench/frozen32.py        # builds both (about 1 min, once per firmware change)

* ``binary(frozen=True)``: ``legpress_fw`` frozen in. A frozen module keeps its bytecode,
  constants and names in the image (flash on the chip), so the heap of this build holds what
  the firmware's heap would hold on a board flashed with a custom image that freezes the
  package (``firmware/manifest.py``, firmware/README.md "Memory").
* ``binary(frozen=False)``: like a stock image, only asyncio frozen (the ESP32 port freezes
  it too). The package is loaded from ``.py`` sources, ``.mpy`` files or a ROMFS image on this
  one: in the frozen build every name the firmware uses is already a qstr of the image, so a
  module loaded from a file would not intern its names in the heap, as it must on a stock
  board (about 9 KiB of the heap).

Built from the MicroPython sources in ``../shared/micropython-ble`` (``src.tar.xz``, the tree
tools/test builds the Bluetooth unix port from; ``LEGPRESS_MICROPYTHON_BLE_SRC`` overrides the
folder) with ``-m32``: needs ``cc``, ``make`` and 32-bit libc headers (Debian:
``gcc-multilib``, installed with apt-get when running as root). The extracted tree and the
binary stay in ``.cache/micropython-frozen32``; the binary is keyed by the sources, the
manifests and every firmware file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "micropython-frozen32"
FIRMWARE = REPO / "firmware"
MANIFEST = FIRMWARE / "manifest.py"
SRC_ENV = "LEGPRESS_MICROPYTHON_BLE_SRC"


class BuildUnavailable(RuntimeError):
    """The 32-bit frozen build can't be made here; the message says why and what to do."""


def _source_dir() -> Path:
    # As tools/test finds it: the env variable, the sibling folder, or (in a git worktree) the
    # main checkout's sibling.
    env = os.environ.get(SRC_ENV)
    if env:
        return Path(env)
    candidates = [REPO.parent / "shared" / "micropython-ble"]
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        candidates.append(Path(common).parent.parent / "shared" / "micropython-ble")
    except (OSError, subprocess.CalledProcessError):
        pass
    for c in candidates:
        if (c / "src.tar.xz").is_file():
            return c
    raise BuildUnavailable(
        f"MicroPython sources not found (looked for {candidates[0]}/src.tar.xz); "
        f"set {SRC_ENV} to the micropython-ble folder"
    )


def _manifest_text(frozen: bool) -> str:
    # asyncio (frozen on the ESP32 port too) and, for the frozen image, the firmware's manifest.
    text = 'include("$(MPY_DIR)/extmod/asyncio")\n'
    return text + f'include("{MANIFEST}")\n' if frozen else text


def _key(tarball: Path, frozen: bool) -> str:
    h = hashlib.sha256()
    paths = [tarball, Path(__file__)]
    if frozen:
        paths += [MANIFEST, *sorted(FIRMWARE.glob("legpress_fw/*.py"))]
    for path in paths:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(_manifest_text(frozen).encode())
    return h.hexdigest()[:16]


def _can_build_32bit() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        c = Path(tmp, "t.c")
        c.write_text("#include <stdio.h>\nint main(void) { return 0; }\n")
        r = subprocess.run(
            ["cc", "-m32", str(c), "-o", str(Path(tmp, "t"))], capture_output=True, check=False
        )
        return r.returncode == 0


def _ensure_toolchain() -> None:
    if not (shutil.which("cc") and shutil.which("make")):
        raise BuildUnavailable("needs cc and make (Debian: apt-get install build-essential)")
    if _can_build_32bit():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("frozen32: apt-get install gcc-multilib (32-bit libc headers)", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "gcc-multilib"],
            env=env,
            capture_output=True,
            check=False,
        )
        if _can_build_32bit():
            return
    raise BuildUnavailable(
        "cc -m32 does not work: install 32-bit libc headers (Debian: apt-get install gcc-multilib)"
    )


def binary(frozen: bool = True) -> Path:
    """The built binary (building it if it is missing or out of date); BuildUnavailable if not.

    frozen: with legpress_fw frozen in; else a stock-like image (only asyncio frozen).
    """
    src = _source_dir()
    tarball = src / "src.tar.xz"
    variant = "frozen" if frozen else "stock"
    key = _key(tarball, frozen)
    out = CACHE / f"micropython-{variant}-{key}"
    if out.is_file():
        return out
    _ensure_toolchain()
    tree = CACHE / ("src-" + hashlib.sha256(tarball.read_bytes()).hexdigest()[:16])
    if not (tree / "micropython" / "py").is_dir():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(tree, filter="data")
    mp = tree / "micropython"
    nolib = tree / "no-micropython-lib"  # the build only checks that the folder has a README
    nolib.mkdir(exist_ok=True)
    (nolib / "README.md").touch()
    manifest = CACHE / f"manifest-{variant}.py"
    manifest.write_text(_manifest_text(frozen))
    jobs = f"-j{os.cpu_count() or 1}"
    log = CACHE / f"build-{variant}.log"
    print(f"frozen32: building MicroPython (32-bit, {variant} image); log: {log}", file=sys.stderr)
    with log.open("w") as f:
        steps = [
            ["make", "-C", str(mp / "mpy-cross"), jobs],
            [
                "make", "-C", str(mp / "ports" / "unix"), jobs, f"BUILD=build-{variant}32",
                "CFLAGS_EXTRA=-m32", "LDFLAGS_EXTRA=-m32",
                "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0", "MICROPY_PY_FFI=0",
                f"FROZEN_MANIFEST={manifest}", f"MPY_LIB_DIR={nolib}",
            ],
        ]  # fmt: skip
        for cmd in steps:
            if subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False).returncode:
                tail = log.read_text().splitlines()[-15:]
                raise BuildUnavailable("the build failed:\n" + "\n".join(tail))
    for old in CACHE.glob(f"micropython-{variant}-*"):
        old.unlink()
    tmp = out.with_suffix(".tmp")
    shutil.copy2(mp / "ports" / "unix" / f"build-{variant}32" / "micropython", tmp)
    tmp.rename(out)
    return out


def mpy_cross() -> Path:
    """mpy-cross of the same sources (built with the binaries)."""
    binary(frozen=False)
    found = sorted(CACHE.glob("src-*/micropython/mpy-cross/build/mpy-cross"))
    if not found:
        raise BuildUnavailable("mpy-cross was not built")
    return found[-1]


if __name__ == "__main__":
    try:
        print(binary(frozen=False))
        print(binary(frozen=True))
    except BuildUnavailable as e:
        print(f"frozen32: {e}", file=sys.stderr)
        sys.exit(1)
