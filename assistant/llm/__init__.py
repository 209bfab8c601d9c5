"""Model backends: one file per backend, one interface (`base.Model`), found by name via `registry`."""
