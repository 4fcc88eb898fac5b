"""Data contracts: one module per model, the single definition of its columns, types and allowed values."""
