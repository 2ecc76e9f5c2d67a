//! Ctrl-C handling: the first SIGINT sets a flag that the training loop polls
//! after every step (it then writes a checkpoint and exits); a second one exits
//! at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Exit status after an interrupt (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Installs the handler (idempotent).
pub fn install() {
    INSTALL.call_once(|| {
        let r = ctrlc::set_handler(|| {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                eprintln!("lrate: second interrupt, exiting without a checkpoint");
                std::process::exit(EXIT_INTERRUPTED);
            }
            eprintln!("\nlrate: interrupt: writing a checkpoint after this step (Ctrl-C again to quit now)");
        });
        if let Err(e) = r {
            eprintln!("lrate: warning: cannot install the Ctrl-C handler: {e}");
        }
    });
}

/// Whether an interrupt arrived.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
