"""Import endpoints: preview, import (file or inline CSV), jobs with progress, failed rows, import maps, export."""

from __future__ import annotations
