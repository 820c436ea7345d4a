"""The oracle: the emulator, checkers, strategies and the conformance runner
(docs/design.md#parts)."""
