"""A leg press on the master side of a pty (hand-written fake): the host opens the slave side
with the production SerialLink. Speaks the framed protocol, with REPL text and noise between
frames, answers commands with :class:`FakeLegPress`, and can be "unplugged" and "replugged"."""

from __future__ import annotations

import contextlib
import os
import random
import select
import threading
import time
import tty
from pathlib import Path

from legpress.protocol.framing import FrameDecoder, encode_frame
from legpress.protocol.spec import Command
from legpress_fw.device import LINK_SERIAL
from tests.host.transport.fake_legpress import FakeLegPress

BOOT_TEXT = (
    b"ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"
    b"MicroPython v1.24.1 on 2024-11-29; Generic ESP32 module with ESP32\r\n>>> "
)


class PtyLegPress:
    """A leg press on the master side of a pty; the host opens :attr:`port`."""

    def __init__(
        self, tmp_path: Path, *, noise: bool = True, glued_noise: bool = False, seed: int = 1
    ) -> None:
        self.dev = FakeLegPress(link=LINK_SERIAL)
        self.noise = noise
        self.glued_noise = glued_noise
        self.rng = random.Random(seed)
        self.link = tmp_path / "ttyLEGPRESS"
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.unplugged = threading.Event()
        self.sent_indices: list[int] = []
        self.noise_bytes = 0
        self._plug()
        self._write(BOOT_TEXT)
        self.threads = [
            threading.Thread(target=self._commands, daemon=True),
            threading.Thread(target=self._stream, daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        # Non-blocking master with short selects: no system call may be in progress on the old
        # master when unplug() closes it, or the host would never see the port go away.
        os.set_blocking(master, False)
        self.master, self.slave = master, slave
        tmp = self.link.with_suffix(".new")
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.link)

    @property
    def port(self) -> str:
        return str(self.link)

    def _write(self, data: bytes) -> None:
        with self.lock:
            view = memoryview(data)
            # random chunking: the host must reassemble frames from any split
            while view:
                n = self.rng.randint(1, max(1, len(view)))
                try:
                    n = os.write(self.master, view[:n])
                except BlockingIOError:
                    time.sleep(0.001)
                    continue
                except OSError:
                    return
                view = view[n:]

    def _commands(self) -> None:
        frames = FrameDecoder()
        while not self.stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.01)
                if not ready:
                    continue
                data = os.read(self.master, 4096)
            except (OSError, ValueError):
                if self.stop.wait(0.01):
                    return
                continue
            for msg in frames.feed(data):
                reply = self.dev.handle(msg)
                if reply is not None:
                    self._write(encode_frame(reply))
                    if msg[9] == Command.START and reply[12] == 0:
                        self._write(encode_frame(self.dev.info_message()))

    def _stream(self) -> None:
        while not self.stop.wait(0.002):
            if not self.dev.streaming:
                continue
            if self.unplugged.is_set():
                self.dev.skip(1, 4)  # sampled, never delivered
                continue
            self.sent_indices.extend(range(self.dev.index, self.dev.index + 4))
            frame = encode_frame(self.dev.samples(4))
            if self.noise and self.rng.random() < 0.1:
                junk = self.rng.choice(
                    [b"Traceback (most recent call last):\r\n", b"\r\n>>> ", bytes([7, 9, 1])]
                )
                if self.glued_noise:
                    # text glued to the next frame: that frame is lost (a real print() does it)
                    self.sent_indices[-4:] = []
                else:
                    junk += b"\x00"  # text then a zero: only the text is discarded
                self.noise_bytes += len(junk)
                frame = junk + frame
            self._write(frame)

    def unplug(self) -> None:
        """The cable comes out: the host sees the port fail."""
        self.unplugged.set()
        with self.lock:
            os.close(self.master)
            os.close(self.slave)

    def replug(self) -> None:
        """The cable goes back in: the same path names a new port."""
        with self.lock:
            self._plug()
        self.unplugged.clear()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=2)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)
