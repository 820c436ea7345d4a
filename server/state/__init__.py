"""The proxy's durable state: health, usage, cooldowns, disabled credentials, flags.

Modules:
    store     the `StateStore` interface and its records
    factory   `open_store(path, url=None, prefix=...)`: the store a proxy opens
    sqlite    `SQLiteStore`, the embedded default
    redis     `RedisStore`, shared by every instance on one Redis; degraded mode
    batching  `Batcher`: the writes of one loop iteration as one batch
    errors    StoreError, the root of this package's errors
"""
