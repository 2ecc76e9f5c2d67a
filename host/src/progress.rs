//! The progress bar shown on stderr during the range test and each epoch.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar of `len` steps on stderr, hidden when stderr is not a terminal or when
/// `hidden` (`--no-progress`).
pub fn bar(len: u64, prefix: String, hidden: bool) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if hidden || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(prefix);
    pb
}
