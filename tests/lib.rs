//! Shared helpers for lrate's cross-crate tests.

pub mod reference;
