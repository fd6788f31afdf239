"""The two function types of `TableEngine.map_rows`, shared by the engine protocol and both engines."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

BatchFn = Callable[[pd.DataFrame], pd.DataFrame]
"""What map_rows applies: a pure function from a batch of rows to its output rows."""
OnBatch = Callable[[pd.DataFrame, pd.DataFrame], None]
"""map_rows' progress callback: called with (input batch, output rows) after each local batch."""
