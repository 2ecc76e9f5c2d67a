//! Process-wide allocator tuning for training, called once at start-up by [`crate::app::main`]
//! (and by the speed example).

/// Makes glibc's allocator keep freed blocks up to 32 MiB in the heap instead of returning them
/// to the kernel (`mallopt(M_MMAP_THRESHOLD, 32 MiB)`, `mallopt(M_TRIM_THRESHOLD, 1 GiB)`).
///
/// Training frees and re-allocates the same large activation and gradient buffers every step;
/// with glibc's defaults each of them is a fresh `mmap`, so every step pays page faults for all
/// of them. Idempotent; a no-op on other platforms.
pub fn tune() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes allocator tuning parameters; it is called once, and
        // glibc's allocator is thread-safe.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        }
    });
}
