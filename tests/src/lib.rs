//! End-to-end tests of whole chains against the emulator live in tests/; this crate has no code.
