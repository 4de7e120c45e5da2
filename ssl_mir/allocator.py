"""glibc's allocator, tuned for training steps that allocate and free the same large buffers every step.

By default glibc serves each buffer above its mmap threshold (dynamic, at most 32 MB) with a fresh `mmap` and
unmaps it on free, so every step faults its activations in again page by page and the kernel zeroes each page
(`benchmarks/allocator.py` counts the faults and the kernel's share of CPU time). `keep_freed_memory` tells glibc to
serve every buffer from the heap and never to give freed memory back (mallopt M_MMAP_MAX = 0, M_TRIM_THRESHOLD
unbounded, M_TOP_PAD 64 MB): the next step reuses the pages. The process keeps its peak memory, which a training
loop reaches on its first step anyway. Every `ssl-mir` command applies it before it runs; `SSL_MIR_MALLOC=default`
leaves glibc as it is. Elsewhere (macOS, musl, a preloaded jemalloc or tcmalloc) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4  # <malloc.h>
NEVER, PAD = -1, 64 << 20  # trim threshold -1: SIZE_MAX once glibc takes it as a size_t; heap growth per sbrk
ENV = "SSL_MIR_MALLOC"


def keep_freed_memory() -> bool:
    """Apply the setting; True when glibc accepted it."""
    if os.environ.get(ENV, "") == "default" or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ.get("LD_PRELOAD", "") for name in ("jemalloc", "tcmalloc")):
        return False  # another allocator serves malloc; glibc's settings would not apply
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    accepted = all(libc.mallopt(option, value) == 1
                   for option, value in ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, NEVER), (M_TOP_PAD, PAD)))
    log.debug("glibc malloc: large buffers kept in the heap (%s)", "applied" if accepted else "refused")
    return accepted
