//! The standalone `esb-init` binary (the `esb` binary runs the same code as `esb __worker-init`).

fn main() -> std::process::ExitCode {
    esb_init::run(&[])
}
