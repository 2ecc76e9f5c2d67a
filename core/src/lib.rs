#![no_std]
//! lrate-core: learning-rate schedules and the LR range test, `no_std`, no allocator.
