"""Type aliases shared across the packages."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Embeddings = npt.NDArray[np.float32]  # (n, d), rows L2-normalised
Ids = npt.NDArray[np.int64]  # (n,)
