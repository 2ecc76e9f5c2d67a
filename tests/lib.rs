//! Shared helpers for lrate's cross-crate tests.
