//! [`Stop`]: how a training run ended when it did not finish (Ctrl-C, or a loss that
//! became NaN or infinite), as an error that names the checkpoint to continue from.

use std::path::PathBuf;

/// How a training run ended when it did not finish.
#[derive(Debug)]
pub enum Stop {
    /// Ctrl-C: a checkpoint was written; `--resume` continues.
    Interrupted {
        /// The checkpoint.
        checkpoint: PathBuf,
        /// Step reached.
        step: u32,
    },
    /// The loss became NaN or infinite.
    Diverged {
        /// Step of the bad loss.
        step: u32,
        /// Its learning rate.
        lr: f32,
        /// The loss value.
        loss: f32,
        /// The last good checkpoint, if any.
        checkpoint: Option<PathBuf>,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Interrupted { checkpoint, step } => write!(
                f,
                "interrupted at step {step}; checkpoint written to {} (continue with --resume)",
                checkpoint.display()
            ),
            Stop::Diverged {
                step,
                lr,
                loss,
                checkpoint,
            } => {
                write!(
                    f,
                    "training diverged: the loss became {loss} at step {step} (lr {lr:.3e}); \
                     try a lower --max-lr (e.g. {:.1e})",
                    lr / 3.0
                )?;
                match checkpoint {
                    Some(c) => write!(f, "; the last good checkpoint is {}", c.display()),
                    None => write!(
                        f,
                        "; no checkpoint was written (it failed in the first epoch)"
                    ),
                }
            }
        }
    }
}

impl std::error::Error for Stop {}
