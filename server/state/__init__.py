"""The proxy's durable state: health, usage, cooldowns, disabled credentials, flags.

Modules:
    store     the `StateStore` interface and its records
    factory   `open_store(path)`: the store a proxy opens
    sqlite    `SQLiteStore`, the embedded default
    errors    StoreError, the root of this package's errors
"""
