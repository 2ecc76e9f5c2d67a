//! The `lrate` binary: see `lrate --help`.

fn main() -> std::process::ExitCode {
    lrate::app::main()
}
