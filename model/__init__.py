"""Forager's data side: exporting the store to mid-training data, the dataset, serving.

pyarrow's default memory pool is glibc's allocator for processes that import this package
before pyarrow (the CLI, the workers, the benchmarks), unless ARROW_DEFAULT_MEMORY_POOL says
otherwise. With mimalloc (pyarrow's default) the buffers Arrow allocates for each batch and
row group of an export went back to the kernel when freed and came back as fresh pages to
zero: about a twentieth of an export's CPU time (measured with perf on the export benchmark).
The pool is chosen when pyarrow is first imported, hence here.
"""

import os

os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
