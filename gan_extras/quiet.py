"""Quiet output: TensorFlow's harmless C++ notices kept out of what a student sees (README, "Quiet output").

``TF_CPP_MIN_LOG_LEVEL=1`` (every Setup cell, the command line) hides TensorFlow's C++ INFO lines and
keeps its warnings and errors. On CPUs where TensorFlow 2.21 turns on its oneDNN kernels by itself
(AVX-512 VNNI or BF16, AMX: 2.5 times faster steps here than without them), two kinds of line escape it:

- while TensorFlow loads, absl writes "oneDNN custom operations are on", behind a banner about
  ``absl::InitializeLog()``, before the log level is read. ``notices_hidden`` captures file
  descriptor 2 while a block runs (gan_helpers loads TensorFlow in one) and writes back every line
  but these, so a real warning or error still reaches the student;
- grappler's remapper, fusing a convolution, its bias and a LeakyReLU into one oneDNN kernel, fails
  on every GAN training graph with an "E ... remapper failed" line, and the graph runs without it.
  ``quiet_tensorflow`` turns that rewrite off: the kit's train step takes the same time either way.

Skip this file on a first reading. Importing it loads nothing of TensorFlow's.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence

#: What TensorFlow writes while it loads that tells a student nothing.
START_UP_NOTICES = ("All log messages before absl::InitializeLog() is called", "oneDNN custom operations are on")


@contextlib.contextmanager
def notices_hidden(notices: Sequence[str] = START_UP_NOTICES) -> Iterator[None]:
    """Run a block with file descriptor 2 captured, then write back every captured line that is not one of ``notices`` (every notebook's Setup cell)."""
    if isinstance(notices, str) or not all(isinstance(n, str) and n for n in notices):
        raise TypeError(f"notices must be a sequence of non-empty strings, got {notices!r}")
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (a windowed Python): nothing reaches a terminal to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        getattr(sys.stderr, "flush", lambda: None)()  # Python's own buffered lines go out first, in order
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            wanted = [n.encode() for n in notices]
            kept = [line for line in captured.read().splitlines(keepends=True) if not any(w in line for w in wanted)]
            data = b"".join(kept)
            while data:
                data = data[os.write(2, data):]


def quiet_tensorflow() -> None:
    """Turn off grappler's remapper, whose oneDNN fusion fails on GAN training graphs with an error line (every notebook's Setup cell)."""
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"remapping": False})
